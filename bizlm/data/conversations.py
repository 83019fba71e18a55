"""Read instruction data into checked conversations: prompt/response rows or chat messages.

A row is either a chat, ``{"messages": [{"role", "content"}, ...]}`` (roles system, user and
assistant), or a prompt with its response in two columns (and an optional ``system`` column).
Every conversation is checked before training: an optional system message first, then turns
that alternate user/assistant, starting with the user and ending on a non-empty answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bizlm.data.columns import EMPTY_TEXT, require_column
from bizlm.data.readers import Table
from bizlm.errors import DataError

Message = dict[str, str]
Conversation = list[Message]

MESSAGES_COLUMN = "messages"
SYSTEM_COLUMN = "system"
ROLES = ("system", "user", "assistant")
EMPTY_ROW = "empty prompt and response"


@dataclass
class ConversationRows:
    """Conversations kept from a table, their lines, and the lines of rows skipped and why."""

    conversations: list[Conversation] = field(default_factory=list)
    line_numbers: list[int] = field(default_factory=list)
    skipped: dict[str, list[int]] = field(default_factory=dict)


def read_conversations(
    table: Table, prompt_column: str, response_column: str, system: str | None
) -> ConversationRows:
    """The conversation of every row of ``table``; ``system`` is the system message of rows
    that bring none. Rows whose prompt is empty are skipped and counted; a row that cannot be
    learned from (an empty response, turns out of order) is an error naming its line."""
    chats = MESSAGES_COLUMN in table.columns
    if not all(chats and row.get(MESSAGES_COLUMN) is not None for row in table.rows):
        require_column(table, prompt_column, "prompt")
        require_column(table, response_column, "response")
    kept = ConversationRows()
    for row, line in zip(table.rows, table.line_numbers, strict=True):
        where = f"{table.source} line {line}"
        if chats and row.get(MESSAGES_COLUMN) is not None:
            conversation = parse_messages(row[MESSAGES_COLUMN], where)
            if system and conversation[0]["role"] != "system":
                conversation.insert(0, {"role": "system", "content": system})
        else:
            prompt, response = _text(row.get(prompt_column)), _text(row.get(response_column))
            if prompt is None:
                reason = EMPTY_ROW if response is None else EMPTY_TEXT
                kept.skipped.setdefault(reason, []).append(line)
                continue
            if response is None:
                raise DataError(
                    f"{where}: the response (column '{response_column}') is empty.",
                    hint="Write the answer the model should learn, or remove the row.",
                )
            conversation = single_turn(prompt, response, _text(row.get(SYSTEM_COLUMN)) or system)
        kept.conversations.append(conversation)
        kept.line_numbers.append(line)
    return kept


def single_turn(prompt: str, response: str | None, system: str | None) -> Conversation:
    """``[system], user, [assistant]``: one prompt and (for training) its response."""
    conversation = [{"role": "system", "content": system}] if system else []
    conversation.append({"role": "user", "content": prompt})
    if response is not None:
        conversation.append({"role": "assistant", "content": response})
    return conversation


def parse_messages(value: Any, where: str, answered: bool = True) -> Conversation:
    """``value`` as a checked conversation (see :func:`check_turns`), or a DataError naming
    ``where`` and the message at fault."""
    if not isinstance(value, list) or not value:
        raise DataError(
            f"{where}: 'messages' is {_kind(value)}, not a list of messages.",
            hint='Write a list such as [{"role": "user", "content": "..."}, '
            '{"role": "assistant", "content": "..."}].',
        )
    conversation = []
    for index, message in enumerate(value):
        role = message.get("role") if isinstance(message, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        if role not in ROLES or not isinstance(content, str):
            raise DataError(
                f"{where}: messages[{index}] is not a message with a role "
                f"({', '.join(ROLES)}) and a text content.",
                hint='Write each message as {"role": "user", "content": "..."}.',
            )
        conversation.append({"role": role, "content": content})
    check_turns(conversation, where, answered)
    return conversation


def check_turns(conversation: Conversation, where: str, answered: bool = True) -> None:
    """Refuse a conversation whose turns are out of order.

    An optional system message comes first; then user and assistant turns alternate, starting
    with the user. With ``answered`` (training data) it ends on a non-empty assistant turn;
    otherwise (a conversation to answer) on the user.
    """
    offset = 1 if conversation and conversation[0]["role"] == "system" else 0
    turns = conversation[offset:]
    for index, message in enumerate(conversation):
        if message["role"] == "system" and index:
            raise DataError(
                f"{where}: messages[{index}] is a system message after the first message.",
                hint="Put the one system message first, or fold it into a user turn.",
            )
        if not message["content"].strip() and message["role"] != "system":
            raise DataError(
                f"{where}: messages[{index}] ({message['role']}) is empty.",
                hint="Fill in the turn, or remove the conversation.",
            )
    for index, message in enumerate(turns):
        expected = "user" if index % 2 == 0 else "assistant"
        if message["role"] != expected:
            raise DataError(
                f"{where}: messages[{index + offset}] has role '{message['role']}' where a "
                f"'{expected}' turn belongs; turns must alternate user/assistant, starting "
                "with the user.",
                hint="Merge consecutive turns of one role, or add the missing turn.",
            )
    last = turns[-1]["role"] if turns else None
    if answered and "assistant" not in {m["role"] for m in turns}:
        raise DataError(
            f"{where}: the conversation has no assistant turn: there is no answer to learn.",
            hint="Add the assistant's answer, or remove the conversation.",
        )
    if answered and last != "assistant":
        raise DataError(
            f"{where}: the conversation ends on the user; the last turn must be the assistant's "
            "answer to learn from.",
            hint="Add the assistant's answer, or drop the unanswered user turn.",
        )
    if not answered and last != "user":
        raise DataError(
            f"{where}: the conversation ends on {last or 'no turn'}; it must end on a user "
            "turn for the model to answer.",
            hint="End the conversation with the user's message.",
        )


def _text(value: Any) -> str | None:
    """A cell as text, or None when it is missing, NaN or blank."""
    if value is None or value != value:  # value != value: NaN
        return None
    text = value if isinstance(value, str) else str(value)
    return text if text.strip() else None


def _kind(value: Any) -> str:
    if value is None:
        return "missing"
    return "an empty list" if value == [] else f"a {type(value).__name__}"
