"""Label descriptions and verbalisers for the zero-shot runs of the few-shot benchmark."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

_RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "bbc-zeroshot.yaml"
_BBC = yaml.safe_load(_RECIPE.read_text(encoding="utf-8"))["method"]["labels"]

DESCRIPTIONS: dict[str, dict[str, Any]] = {
    "bbc-news": {
        label: {
            **spec,
            "verbaliser": {"sports": "Sport", "tech": "Technology"}.get(label, label.capitalize()),
        }
        for label, spec in _BBC.items()
    },
    "trec": {
        "ABBR": {
            "description": "A question asking what an abbreviation or acronym stands for.",
            "examples": ["What does NASA stand for?"],
            "verbaliser": "Abbreviation",
        },
        "DESC": {
            "description": "A question asking for a description, definition, reason or "
            "manner: what is, why, how.",
            "examples": ["What is a black hole?", "Why is the sky blue?"],
            "verbaliser": "Description",
        },
        "ENTY": {
            "description": "A question asking for a thing: an animal, product, colour, "
            "food, language, sport or other entity.",
            "examples": ["What kind of animal is a whale?"],
            "verbaliser": "Thing",
        },
        "HUM": {
            "description": "A question asking about a person or group of people: who.",
            "examples": ["Who wrote Hamlet?"],
            "verbaliser": "Person",
        },
        "LOC": {
            "description": "A question asking for a place: a city, country, mountain, "
            "river or location: where.",
            "examples": ["Where is the Eiffel Tower?"],
            "verbaliser": "Place",
        },
        "NUM": {
            "description": "A question asking for a number: a date, count, amount, "
            "distance, price or percentage: how many, when.",
            "examples": ["How many people live in Tokyo?", "When did the war end?"],
            "verbaliser": "Number",
        },
    },
    "airline-tweets": {
        "negative": {
            "description": "An angry or disappointed complaint about a flight: delays, "
            "cancellations, lost bags, rude staff.",
            "examples": ["my flight was cancelled and nobody helped"],
            "verbaliser": "Negative",
        },
        "neutral": {
            "description": "A neutral question or statement to an airline, without emotion.",
            "examples": ["what time does the flight to Boston leave?"],
            "verbaliser": "Neutral",
        },
        "positive": {
            "description": "A happy, thankful tweet praising an airline, its crew or its service.",
            "examples": ["thanks for the great flight, lovely crew"],
            "verbaliser": "Positive",
        },
    },
    "aapl-tweets": {
        "negative": {
            "description": "A bearish or unhappy tweet about Apple or its stock: falling "
            "shares, disappointing products, complaints.",
            "examples": ["$AAPL dropping hard today, time to sell"],
            "verbaliser": "Negative",
        },
        "neutral": {
            "description": "A neutral tweet about Apple or its stock: news, questions or "
            "facts, without opinion.",
            "examples": ["Apple will report its earnings on Tuesday"],
            "verbaliser": "Neutral",
        },
        "positive": {
            "description": "A bullish or happy tweet about Apple or its stock: rising shares, "
            "great products, praise.",
            "examples": ["love my new iPhone, $AAPL looking strong"],
            "verbaliser": "Positive",
        },
    },
    "rotten-tomatoes": {
        "fresh": {
            "description": "A positive movie review: the film is good, enjoyable, moving.",
            "examples": ["a funny and touching film"],
            "verbaliser": "Positive",
        },
        "rotten": {
            "description": "A negative movie review: the film is bad, boring, a failure.",
            "examples": ["a dull and tedious mess"],
            "verbaliser": "Negative",
        },
    },
}
