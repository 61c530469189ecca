"""SOQL tokenizer and parser for the sandbox: text in, a schema-free `Query` tree out.

Only syntax is checked here (MALFORMED_QUERY); names and types are checked against a schema
by `evaluate.compile`. The grammar is the subset a CRM connector needs:

    SELECT field, Rel.Field, ... | COUNT()  FROM Object
    [WHERE cond] [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n]

Like Salesforce, AND and OR may not be mixed at one level without parentheses, and NOT may
only open a condition (`WHERE NOT a = 1`, `(NOT a = 1)`), never follow AND/OR.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime


class SoqlError(Exception):
    """A query Salesforce would refuse; `error_code` and `message` go into the 400 body."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code
        self.message = message


@dataclass(frozen=True)
class Lit:
    """A literal: kind is string|number|boolean|null|date|datetime.

    value is decoded (datetime: UTC 'YYYY-MM-DDTHH:MM:SS.mmm', date: 'YYYY-MM-DD').
    """

    kind: str
    value: object
    text: str


@dataclass(frozen=True)
class Cond:
    """`field op value`; op is = != < <= > >= LIKE IN NOT IN; value is a Lit or tuple of Lits."""

    field: str
    op: str
    value: Lit | tuple[Lit, ...]


@dataclass(frozen=True)
class BoolOp:
    """AND / OR over two or more operands."""

    op: str
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node = Cond | BoolOp | Not


@dataclass(frozen=True)
class OrderItem:
    field: str
    ascending: bool = True
    nulls_first: bool = True


@dataclass(frozen=True)
class Query:
    """A parsed query. Names are kept as written; `compile` maps them to canonical case."""

    obj: str
    fields: tuple[str, ...]
    where: Node | None = None
    order_by: tuple[OrderItem, ...] = ()
    limit: int | None = None
    count_only: bool = False


_TOKEN_RE = re.compile(
    r"""
     (?P<ws>\s+)
    |(?P<string>'(?:[^'\\]|\\.)*')
    |(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
    |(?P<date>\d{4}-\d{2}-\d{2})
    |(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))
    |(?P<op>!=|<>|<=|>=|=|<|>)
    |(?P<punct>[(),])
    |(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    """,
    re.VERBOSE | re.DOTALL,
)
# Words that can never be a field or object name in the positions we parse.
_RESERVED = frozenset({
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "NULL", "TRUE", "FALSE",
    "ORDER", "BY", "LIMIT", "OFFSET", "GROUP", "HAVING", "WITH", "USING", "INCLUDES",
    "EXCLUDES", "FOR", "TYPEOF", "ASC", "DESC", "NULLS",
})
_ESCAPES = {
    "n": "\n", "N": "\n", "r": "\r", "R": "\r", "t": "\t", "T": "\t", "b": "\b", "B": "\b",
    "f": "\f", "F": "\f", '"': '"', "'": "'", "\\": "\\",
    "%": "\\%", "_": "\\_",  # kept escaped: only LIKE gives them meaning
}
_COMPARISONS = {"=": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    pos: int

    def word(self) -> str:
        return self.text.upper() if self.kind == "name" else ""


def _tokenize(soql: str) -> list[_Tok]:
    tokens, pos = [], 0
    while pos < len(soql):
        m = _TOKEN_RE.match(soql, pos)
        if m is None:
            bad = re.match(r"\S+", soql[pos:])
            raise _unexpected(soql, pos, bad.group(0) if bad else soql[pos])
        if m.lastgroup != "ws":
            tokens.append(_Tok(m.lastgroup or "", m.group(0), pos))
        pos = m.end()
    tokens.append(_Tok("eof", "<EOF>", len(soql)))
    return tokens


def _unexpected(soql: str, pos: int, text: str) -> SoqlError:
    """Salesforce's MALFORMED_QUERY text: the line, a caret, the row/column, the token."""
    row = soql.count("\n", 0, pos) + 1
    line_start = soql.rfind("\n", 0, pos) + 1
    line_end = soql.find("\n", pos)
    line = soql[line_start : line_end if line_end >= 0 else len(soql)]
    col = pos - line_start + 1
    caret = " " * (col - 1) + "^"
    message = f"{line}\n{caret}\nERROR at Row:{row}:Column:{col}\nunexpected token: {text}"
    return SoqlError("MALFORMED_QUERY", message)


def parse(soql: str) -> Query:
    """Parse SOQL text; raises SoqlError('MALFORMED_QUERY', ...) on anything unsupported."""
    return _Parser(soql).query()


class _Parser:
    def __init__(self, soql: str) -> None:
        self.soql = soql
        self.toks = _tokenize(soql)
        self.i = 0

    # -- token helpers -------------------------------------------------------------------
    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def fail(self, tok: _Tok | None = None) -> SoqlError:
        tok = tok or self.peek()
        return _unexpected(self.soql, tok.pos, tok.text)

    def accept(self, word: str) -> bool:
        if self.peek().word() == word:
            self.i += 1
            return True
        return False

    def expect(self, word: str) -> None:
        if not self.accept(word):
            raise self.fail()

    def expect_punct(self, text: str) -> None:
        tok = self.take()
        if tok.kind != "punct" or tok.text != text:
            raise self.fail(tok)

    def name(self, dotted: bool = True) -> str:
        tok = self.take()
        if tok.kind != "name" or tok.word() in _RESERVED or (not dotted and "." in tok.text):
            raise self.fail(tok)
        return tok.text

    # -- clauses -------------------------------------------------------------------------
    def query(self) -> Query:
        self.expect("SELECT")
        fields, count_only = self.select_list()
        self.expect("FROM")
        # "Group" (users' groups and queues) is an object although GROUP is a keyword
        obj = self.take().text if self.peek().word() == "GROUP" else self.name(dotted=False)
        where = self.expr() if self.accept("WHERE") else None
        order_by = self.order_by() if self.accept("ORDER") else ()
        limit = self.limit() if self.accept("LIMIT") else None
        if self.peek().kind != "eof":
            raise self.fail()
        return Query(obj, fields, where, order_by, limit, count_only)

    def select_list(self) -> tuple[tuple[str, ...], bool]:
        if self.peek().word() == "COUNT" and self.toks[self.i + 1].text == "(":
            self.i += 2
            self.expect_punct(")")
            return (), True
        fields = [self.name()]
        while self.peek().text == ",":
            self.i += 1
            fields.append(self.name())
        if self.peek().text == "(":  # functions, aggregates and subqueries are not supported
            raise self.fail()
        return tuple(fields), False

    def order_by(self) -> tuple[OrderItem, ...]:
        self.expect("BY")
        items = [self.order_item()]
        while self.peek().text == ",":
            self.i += 1
            items.append(self.order_item())
        return tuple(items)

    def order_item(self) -> OrderItem:
        field = self.name()
        ascending = self.accept("ASC") or not self.accept("DESC")
        nulls_first = ascending  # Salesforce sorts null as the lowest value by default
        if self.accept("NULLS"):
            if self.accept("FIRST"):
                nulls_first = True
            else:
                self.expect("LAST")
                nulls_first = False
        return OrderItem(field, ascending, nulls_first)

    def limit(self) -> int:
        tok = self.take()
        if tok.kind != "number" or not tok.text.isdigit():
            raise self.fail(tok)
        return int(tok.text)

    # -- conditions ----------------------------------------------------------------------
    def expr(self) -> Node:
        items = [Not(self.operand()) if self.accept("NOT") else self.operand()]
        joiner = ""
        while self.peek().word() in ("AND", "OR"):
            word = self.peek().word()
            if joiner and word != joiner:  # mixing needs parentheses, as in Salesforce
                raise self.fail()
            joiner = word
            self.i += 1
            items.append(self.operand())
        return items[0] if len(items) == 1 else BoolOp(joiner, tuple(items))

    def operand(self) -> Node:
        if self.peek().text == "(":
            self.i += 1
            node = self.expr()
            self.expect_punct(")")
            return node
        return self.condition()

    def condition(self) -> Cond:
        field = self.name()
        tok = self.take()
        if tok.kind == "op":
            return Cond(field, _COMPARISONS[tok.text], self.literal())
        word = tok.word()
        if word == "LIKE":
            return Cond(field, "LIKE", self.literal())
        if word == "IN" or (word == "NOT" and self.accept("IN")):
            return Cond(field, "IN" if word == "IN" else "NOT IN", self.literal_list())
        raise self.fail(tok)

    def literal_list(self) -> tuple[Lit, ...]:
        self.expect_punct("(")
        items = [self.literal()]
        while self.peek().text == ",":
            self.i += 1
            items.append(self.literal())
        self.expect_punct(")")
        return tuple(items)

    def literal(self) -> Lit:
        tok = self.take()
        try:
            return _literal(tok)
        except ValueError:
            raise self.fail(tok) from None


def _literal(tok: _Tok) -> Lit:
    """Decode one literal token; ValueError when the token is not a valid literal."""
    text = tok.text
    if tok.kind == "string":
        return Lit("string", _unescape(text[1:-1]), text)
    if tok.kind == "number":
        return Lit("number", float(text) if "." in text else int(text), text)
    if tok.kind == "date":
        return Lit("date", date.fromisoformat(text).isoformat(), text)
    if tok.kind == "datetime":
        return Lit("datetime", utc_instant(text), text)
    word = tok.word()
    if word in ("TRUE", "FALSE"):
        return Lit("boolean", word == "TRUE", text)
    if word == "NULL":
        return Lit("null", None, text)
    raise ValueError(text)


def _unescape(body: str) -> str:
    def repl(m: re.Match[str]) -> str:
        if m.group(1) not in _ESCAPES:
            raise SoqlError(
                "MALFORMED_QUERY",
                f"Invalid string literal '{body}'. Illegal character sequence "
                f"'\\{m.group(1)}' in string literal.",
            )
        return _ESCAPES[m.group(1)]

    return re.sub(r"\\(.)", repl, body, flags=re.DOTALL)


def utc_instant(text: str) -> str:
    """An ISO datetime ('Z', '+0000', '+01:00'; naive means UTC) as UTC 'YYYY-MM-DDTHH:MM:SS.mmm'.

    Text in that fixed form sorts in time order, and Salesforce's own '....000+0000' values
    reach it by slicing, without parsing. Raises ValueError if the text is not a datetime.
    """
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:23]
