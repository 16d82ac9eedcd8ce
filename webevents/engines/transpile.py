"""Athena SQL to DuckDB: sqlglot's athena -> duckdb transpiler plus the project's own transforms.

sqlglot maps most of Athena (Trino) to DuckDB. The transforms here close the gaps the
sql/ files meet; each one names the Athena behaviour it reproduces, and each has a test
in tests/webevents/test_transpile.py. Statements that only Athena/Trino can run (Iceberg
time travel, metadata tables, OPTIMIZE, VACUUM, table properties) are recognised by
`athena_only_reason` so the local engine can say so instead of failing obscurely.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import hmac
import logging
import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema
from sqlglot.tokens import Token, TokenType

READ_DIALECT = "athena"
WRITE_DIALECT = "duckdb"

# Temporary macros the local engine installs on its connection; the transforms call them
# so the generated SQL stays readable. Trino's json_extract* return NULL for malformed
# JSON and json_extract_scalar returns NULL for objects/arrays, where DuckDB raises or
# returns the JSON text.
DUCKDB_MACROS = (
    "create or replace temp macro athena_json_extract(j, p) as try(j -> p)",
    # json_value is NULL for objects and arrays: one parse of j instead of two.
    "create or replace temp macro athena_json_extract_scalar(j, p) as "
    "try(json_value(j, p) ->> '$')",
    # cast(json as varchar): a JSON string becomes its value (Trino), not its quoted text.
    "create or replace temp macro athena_json_to_varchar(j) as "
    "case when json_type(j) in ('OBJECT', 'ARRAY') "
    "then error('Cannot cast JSON object or array to varchar') else j ->> '$' end",
    # Trino's from_unixtime_nanos (timestamp(9) with time zone, UTC); DuckDB keeps micros.
    "create or replace temp macro from_unixtime_nanos(n) as "
    "make_timestamp(n // 1000)::timestamptz",
)


class TranspileError(ValueError):
    """The statement cannot be turned into DuckDB SQL; the message says why."""


# --- parsing ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def hmac_sha256(message: bytes, key: bytes) -> bytes:
    """Trino's hmac_sha256(binary, key): the HMAC-SHA256 digest (DuckDB has no HMAC)."""
    return hmac.new(key, message, hashlib.sha256).digest()


def _athena_tokens(sql: str) -> tuple[Token, ...]:
    return tuple(sqlglot.Dialect.get_or_raise(READ_DIALECT).tokenize(sql))


def tokenize_athena(sql: str) -> list[Token]:
    """The Athena tokens of `sql`, tokenized once per text for the runner's statement
    count, its query check and the parse (tokenizing the backfill's stage insert costs
    more than running it on a small chunk). Fresh copies: the parser hands the tokens'
    comment lists on to the expressions it builds."""
    return [
        Token(t.token_type, t.text, t.line, t.col, t.start, t.end, list(t.comments))
        for t in _athena_tokens(sql)
    ]


def count_statements(sql: str) -> int:
    """Statements in `sql` by the Athena tokenizer (comments and a final `;` do not count)."""
    try:
        tokens = _athena_tokens(sql)
    except TokenError:  # an untokenizable text still counts as one statement for the engine
        return 1 if sql.strip() else 0
    count, pending = 0, False
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            count += pending
            pending = False
        else:
            pending = True
    return count + pending


def parse_athena(sql: str) -> exp.Expression:
    """Parse exactly one Athena statement."""
    try:
        parser = sqlglot.Dialect.get_or_raise(READ_DIALECT).parser()
        statements = [s for s in parser.parse(tokenize_athena(sql), sql) if s is not None]
    except ParseError as error:
        raise TranspileError(f"sqlglot cannot parse this as Athena SQL: {error}") from None
    if len(statements) != 1:
        raise TranspileError(f"expected one statement, found {len(statements)}")
    return statements[0]


# --- statements the local engine cannot or need not run ---------------------------------

_ATHENA_ONLY_COMMANDS = {
    "OPTIMIZE": "OPTIMIZE (Iceberg compaction)",
    "VACUUM": "VACUUM (Iceberg snapshot expiry)",
}
_LOCAL_NOOP_COMMANDS = {"MSCK": "MSCK REPAIR TABLE registers partitions"}
# sqlglot logs a warning whenever it keeps an Athena-only statement as a Command.
logging.getLogger("sqlglot").setLevel(logging.ERROR)


def athena_only_reason(tree: exp.Expression) -> str | None:
    """Why this statement runs on Athena/Trino only, or None when DuckDB can run it."""
    if isinstance(tree, exp.Command):
        word = str(tree.this).split()[0].upper() if str(tree.this).strip() else ""
        if word in _ATHENA_ONLY_COMMANDS:
            return _ATHENA_ONLY_COMMANDS[word]
    if isinstance(tree, exp.Alter) and any(
        isinstance(action, exp.AlterSet) for action in tree.args.get("actions") or []
    ):
        return "ALTER TABLE ... SET TBLPROPERTIES (Iceberg table properties)"
    for table in tree.find_all(exp.Table):
        if table.args.get("version") is not None:
            return "Iceberg time travel (FOR TIMESTAMP / FOR VERSION AS OF)"
        if "$" in table.name:
            return f'the Iceberg metadata table "{table.name}"'
    return None


def local_noop_reason(tree: exp.Expression) -> str | None:
    """Why this statement has nothing to do locally (partition registration), or None."""
    if isinstance(tree, exp.Command):
        word = str(tree.this).split()[0].upper() if str(tree.this).strip() else ""
        if word in _LOCAL_NOOP_COMMANDS:
            return _LOCAL_NOOP_COMMANDS[word]
    if isinstance(tree, exp.Alter) and any(
        isinstance(action, exp.Schema) or type(action).__name__ == "AddPartition"
        for action in tree.args.get("actions") or []
    ):
        return "ALTER TABLE ... ADD PARTITION registers partitions"
    return None


# --- Joda-Time formats (parse_datetime / format_datetime) --------------------------------

# Joda pattern letters (by run length) -> strftime/strptime directives DuckDB understands.
_JODA_DIRECTIVES = {
    "y": {1: "%Y", 2: "%y", 3: "%Y", 4: "%Y"},
    "Y": {1: "%Y", 2: "%y", 3: "%Y", 4: "%Y"},
    "M": {1: "%m", 2: "%m", 3: "%b", 4: "%B"},
    "d": {1: "%d", 2: "%d"},
    "D": {1: "%j", 2: "%j", 3: "%j"},
    "H": {1: "%H", 2: "%H"},
    "h": {1: "%I", 2: "%I"},
    "m": {1: "%M", 2: "%M"},
    "s": {1: "%S", 2: "%S"},
    "S": {1: "%g", 2: "%g", 3: "%g", 6: "%f", 9: "%n"},
    "a": {1: "%p"},
    "E": {1: "%a", 2: "%a", 3: "%a", 4: "%A"},
    "Z": {1: "%z", 2: "%z"},
    "z": {1: "%Z", 2: "%Z", 3: "%Z", 4: "%Z"},
}


def joda_to_strftime(pattern: str) -> str:
    """Translate a Joda-Time pattern (Athena's parse_datetime/format_datetime) to strftime."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "'":  # quoted literal; '' (inside or outside quotes) is one quote
            if pattern.startswith("''", i):
                out.append("'")
                i += 2
                continue
            i += 1
            while True:
                if i >= len(pattern):
                    raise TranspileError(f"unterminated quote in Joda pattern {pattern!r}")
                if pattern.startswith("''", i):
                    out.append("'")
                    i += 2
                elif pattern[i] == "'":
                    i += 1
                    break
                else:
                    out.append("%%" if pattern[i] == "%" else pattern[i])
                    i += 1
            continue
        if char.isalpha():
            run = len(pattern) - i - len(pattern[i:].lstrip(char))
            directive = _JODA_DIRECTIVES.get(char, {}).get(run)
            if directive is None:
                raise TranspileError(
                    f"Joda pattern letter {char * run!r} in {pattern!r} has no DuckDB equivalent"
                )
            out.append(directive)
            i += run
            continue
        out.append("%%" if char == "%" else char)
        i += 1
    return "".join(out)


# --- expression transforms ---------------------------------------------------------------

_URL_SCHEME = r"^[A-Za-z][A-Za-z0-9+.\-]*:"
# java.net.URI pieces, which Trino's url_extract_* functions return.
_URL_PATTERNS = {
    "URL_EXTRACT_HOST": (_URL_SCHEME + r"//(?:[^/?#@]*@)?(\[[^\]]*\]|[^:/?#]*)", True),
    "URL_EXTRACT_PATH": (r"^(?:[A-Za-z][A-Za-z0-9+.\-]*:)?(?://[^/?#]*)?([^?#]*)", False),
    "URL_EXTRACT_QUERY": (r"^[^?#]*\?([^#]*)", True),
    "URL_EXTRACT_FRAGMENT": (r"^[^#]*#(.*)$", True),
    "URL_EXTRACT_PROTOCOL": (r"^([A-Za-z][A-Za-z0-9+.\-]*):", True),
}

_DATE_UNITS = {"DAY", "WEEK", "MONTH", "QUARTER", "YEAR"}


def _function(name: str, *args: exp.Expression) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def _cast(node: exp.Expression, type_sql: str) -> exp.Cast:
    return exp.Cast(this=node, to=exp.DataType.build(type_sql, dialect=WRITE_DIALECT))


def _is_date_typed(node: exp.Expression, date_columns: frozenset[str]) -> bool:
    """True when `node` certainly has type DATE (literal casts, date(), known date columns)."""
    if isinstance(node, exp.Paren):
        return _is_date_typed(node.this, date_columns)
    if isinstance(node, exp.Cast | exp.TryCast):
        return node.to.is_type(exp.DataType.Type.DATE)
    if isinstance(node, exp.CurrentDate | exp.Date | exp.StrToDate | exp.DateFromParts):
        return True
    if isinstance(node, exp.Column):
        return node.name.lower() in date_columns
    if isinstance(node, exp.DateAdd | exp.DateSub):
        unit = node.args.get("unit")
        return (unit is None or unit.name.upper() in _DATE_UNITS) and _is_date_typed(
            node.this, date_columns
        )
    return False


def _map_filter(mapping: exp.Expression, condition: exp.Lambda) -> exp.Expression:
    """map_filter(m, (k, v) -> cond): DuckDB filters the map's entries as a list of structs."""
    key, value = (p.name for p in condition.expressions)
    entry = exp.to_identifier("map_entry")

    def field(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Identifier | exp.Column) and not node.args.get("table"):
            if node.name == key:
                return _function("struct_extract", entry.copy(), exp.Literal.string("key"))
            if node.name == value:
                return _function("struct_extract", entry.copy(), exp.Literal.string("value"))
        return node

    body = condition.this.transform(field)
    entries = exp.Anonymous(
        this="list_filter",
        expressions=[_function("map_entries", mapping), exp.Lambda(this=body, expressions=[entry])],
    )
    return _function("map_from_entries", entries)


def _decimal_type(node: exp.Expression) -> tuple[int, int] | None:
    """(precision, scale) when Athena types `node` DECIMAL: 1.0 is decimal(2,1) there."""
    if isinstance(node, exp.Paren | exp.Neg):
        return _decimal_type(node.this)
    if isinstance(node, exp.Literal) and not node.is_string:
        text = node.name
        if "." in text and not any(c in text for c in "eE"):
            whole, _, fraction = text.partition(".")
            return max(len(whole.lstrip("-")), 1) + len(fraction), len(fraction)
        return None
    if isinstance(node, exp.Cast | exp.TryCast) and node.to.is_type(exp.DataType.Type.DECIMAL):
        params = [int(p.name) for p in node.to.expressions if p.name.isdigit()]
        return (params[0], params[1] if len(params) > 1 else 0) if params else None
    if isinstance(node, exp.Case):
        branches = [i.args["true"] for i in node.args.get("ifs") or []]
        if node.args.get("default") is not None:
            branches.append(node.args["default"])
        types = [_decimal_type(b) for b in branches if not isinstance(b, exp.Null)]
        if types and all(types):
            scale = max(t[1] for t in types)
            return max(t[0] - t[1] for t in types) + scale, scale
    return None


_EXACT_DECIMAL_AVG = (
    "cast(cast(case when s >= 0 then (2 * s + n) // (2 * n) "
    "else -((2 * -s + n) // (2 * n)) end as double) / {unit} as decimal({precision}, {scale}))"
)


def _decimal_avg(node: exp.Avg, precision: int, scale: int) -> exp.Expression:
    """Athena: avg(decimal(p,s)) is decimal(p,s), rounded half up (avg(1.0/0.0 flags) of
    0.55 is 0.6). Computed exactly from the scaled sum and the count."""
    unit = 10**scale
    template = sqlglot.parse_one(
        _EXACT_DECIMAL_AVG.format(unit=unit, precision=precision, scale=scale),
        read=WRITE_DIALECT,
    )
    scaled_sum = _cast(
        exp.Mul(this=exp.Sum(this=node.this.copy()), expression=exp.Literal.number(unit)),
        "hugeint",
    )
    count = exp.Count(this=node.this.copy())

    def fill(part: exp.Expression) -> exp.Expression:
        if isinstance(part, exp.Column) and part.name in {"s", "n"}:
            return exp.Paren(this=(scaled_sum if part.name == "s" else count).copy())
        return part

    return template.transform(fill)


def _date_operand(node: exp.Expression, date_columns: frozenset[str]) -> bool:
    """Date arithmetic whose operand is a DATE (by type annotation, or by the name rules)."""
    return bool(node.meta.get("date_operand")) or _is_date_typed(node.this, date_columns)


def _json_path_literal(path: exp.Expression) -> exp.Expression:
    """The DuckDB text of a parsed JSON path (sqlglot keeps `$`-keys like "$oid" quoted)."""
    if isinstance(path, exp.JSONPath):
        return exp.Literal.string(path.sql(WRITE_DIALECT).strip("'"))
    return path


def _json_function(
    name: str, node: exp.Expression, date_columns: frozenset[str]
) -> exp.Expression:
    return _function(
        name, _rewrite_tree(node.this, date_columns), _json_path_literal(node.expression)
    )


_JSON_MAP_TYPES = {"MAP(TEXT, JSON)", "MAP(VARCHAR, JSON)"}
# A regexp_replace pattern that strips a set of characters from both ends of a string.
_TRIM_PATTERN = re.compile(r"\^\[((?:\\[tnr]| )+)\]\+\|\[\1\]\+\$")
_TRIM_ESCAPES = {"\\t": "\t", "\\n": "\n", "\\r": "\r", " ": " "}


def _rewrite_tree(node: exp.Expression, date_columns: frozenset[str]) -> exp.Expression:
    """The transforms applied under a node a transform returned (sqlglot's transform
    does not descend into a replacement)."""
    return node.transform(lambda n: _rewrite_expression(n, date_columns), copy=False)


def _is_duckdb_written_json(node: exp.Expression) -> bool:
    """JSON whose text DuckDB produced: a map/array element, a json_extract result, a
    map cast to JSON."""
    if isinstance(node, exp.Bracket):
        return True
    if isinstance(node, exp.JSONExtract) and not node.args.get("expressions"):
        return True
    if isinstance(node, exp.Cast) and node.to.is_type(exp.DataType.Type.JSON):
        # a map or array cast to JSON is written by DuckDB (a string cast is kept as is)
        source = node.this
        return isinstance(source, exp.Map | exp.VarMap | exp.Array | exp.Struct) or (
            isinstance(source, exp.Anonymous) and source.name.upper() == "MAP_FILTER"
        )
    return (
        isinstance(node, exp.Anonymous)
        and node.name.upper() == "STRUCT_EXTRACT"
        and len(node.expressions) == 2
        and node.expressions[1].is_string
        and node.expressions[1].name == "value"
        and isinstance(node.expressions[0], exp.Identifier)
        and node.expressions[0].name == "map_entry"
    )


def _trimmed_characters(node: exp.RegexpReplace) -> str | None:
    """The characters regexp_replace(x, '^[C]+|[C]+$', '') strips from both ends, if so."""
    pattern, replacement = node.expression, node.args.get("replacement")
    if not (pattern is not None and pattern.is_string and replacement is not None):
        return None
    if not (replacement.is_string and replacement.name == ""):
        return None
    if node.args.get("position") or node.args.get("occurrence") or node.args.get("modifiers"):
        return None
    match = _TRIM_PATTERN.fullmatch(pattern.name)
    if not match:
        return None
    return "".join(_TRIM_ESCAPES[e] for e in re.findall(r"\\[tnr]| ", match.group(1)))


def _trim_when_needed(node: exp.RegexpReplace, characters: str) -> exp.Expression:
    """Run the trimming regexp only on strings that start or end with such a character.

    Nearly every line has none: two byte tests replace a regexp pass over the line.
    """
    text = node.this
    codes = [exp.Literal.number(ord(c)) for c in characters]
    edges = exp.or_(
        exp.In(this=_function("ascii", text.copy()), expressions=[c.copy() for c in codes]),
        *(
            _function("suffix", text.copy(), _function("chr", c.copy()))
            for c in codes
        ),
    )
    return exp.Case(ifs=[exp.If(this=edges, true=node)], default=text.copy())


def _is_cheap_text(node: exp.Expression) -> bool:
    """A column, or a map entry's JSON value as text: cheap enough to evaluate twice."""
    if isinstance(node, exp.Cast) and node.to.is_type(*exp.DataType.TEXT_TYPES):
        return isinstance(node.this, exp.Anonymous) and _is_duckdb_written_json(node.this)
    return isinstance(node, exp.Column)


def _string_value_when_quoted(text: exp.Expression, extracted: exp.Expression) -> exp.Expression:
    """json_extract_scalar(j, '$') of a text that starts with a quote: if JSON at all, it
    is a string, whose value `->>` reads in one parse (the general form parses twice to
    return NULL for objects and arrays). Measured: ~10% of the backfill stage's CPU."""
    quoted = exp.Like(this=text.copy(), expression=exp.Literal.string('"%'))
    root = exp.Literal.string("$")
    value = _function("try", exp.JSONExtractScalar(this=text.copy(), expression=root))
    return exp.Case(ifs=[exp.If(this=quoted, true=value)], default=extracted)


def _rewrite_expression(node: exp.Expression, date_columns: frozenset[str]) -> exp.Expression:
    """One node: Athena semantics expressed in DuckDB terms (_REWRITES, by node type)."""
    for node_type in type(node).__mro__:  # a subclass (TryCast) takes its parent's rewrite
        rewrite = _REWRITES.get(node_type)
        if rewrite is not None:
            return rewrite(node, date_columns)
    return node


def _drop_catalog(node: exp.Table, _dates: frozenset[str]) -> exp.Expression:
    """Athena names catalogs (AwsDataCatalog, "s3tablescatalog/<bucket>"); the lake is one."""
    if not node.args.get("catalog"):
        return node
    node = node.copy()
    node.set("catalog", None)
    return node


def _parse_datetime(node: exp.ParseDatetime, _dates: frozenset[str]) -> exp.Expression:
    """parse_datetime(text, joda) -> strptime(text, strftime pattern)."""
    fmt = node.args.get("format")
    if fmt is None or not fmt.is_string:
        return node
    return _function("strptime", node.this, exp.Literal.string(joda_to_strftime(fmt.name)))


def _format_datetime(args: list[exp.Expression], _dates: frozenset[str]) -> exp.Expression | None:
    # Athena formats timestamp with time zone in its own zone; ours are UTC.
    if len(args) != 2 or not args[1].is_string:
        return None
    return _function("strftime", args[0], exp.Literal.string(joda_to_strftime(args[1].name)))


def _at_timezone_call(args: list[exp.Expression], _dates: frozenset[str]) -> exp.Expression | None:
    # Athena: the same instant seen in `zone`; a plain timestamp counts as UTC.
    if len(args) != 2:
        return None
    return _function("timezone", args[1], _cast(args[0], "timestamptz"))


def _with_timezone(args: list[exp.Expression], _dates: frozenset[str]) -> exp.Expression | None:
    # Athena: the wall-clock timestamp read as local time in `zone`.
    if len(args) != 2:
        return None
    return _function("timezone", args[1], _cast(args[0], "timestamp"))


def _url_extract(name: str):
    """url_extract_host/path/query/...: a regexp_extract, null for a null URL."""
    pattern, null_if_empty = _URL_PATTERNS[name]

    def rewrite(args: list[exp.Expression], _dates: frozenset[str]) -> exp.Expression | None:
        if len(args) != 1:
            return None
        extracted = _function(
            "regexp_extract", args[0], exp.Literal.string(pattern), exp.Literal.number(1)
        )
        if null_if_empty:
            extracted = _function("nullif", extracted, exp.Literal.string(""))
        return exp.If(this=exp.Is(this=args[0], expression=exp.Null()).not_(), true=extracted)

    return rewrite


def _map_filter_call(args: list[exp.Expression], dates: frozenset[str]) -> exp.Expression | None:
    if len(args) != 2 or not isinstance(args[1], exp.Lambda):
        return None
    return _rewrite_tree(_map_filter(args[0], args[1]), dates)


def _is_finite(args: list[exp.Expression], _dates: frozenset[str]) -> exp.Expression | None:
    return _function("isfinite", args[0]) if len(args) == 1 else None


def _named_function(node: exp.Anonymous, date_columns: frozenset[str]) -> exp.Expression:
    """Athena functions sqlglot does not know by type, by name (_FUNCTION_REWRITES)."""
    rewrite = _FUNCTION_REWRITES.get(node.name.upper())
    rewritten = rewrite(node.expressions, date_columns) if rewrite else None
    return node if rewritten is None else rewritten


def _from_utf8(node: exp.Decode, _dates: frozenset[str]) -> exp.Expression:
    """Athena's from_utf8 replaces invalid sequences (with U+FFFD by default); DuckDB's
    decode raises. Valid input takes DuckDB's fast path."""
    if str(node.text("charset")).lower() not in {"utf-8", "utf8"}:
        return node
    replacement = node.args.get("replace") or exp.Literal.string("\ufffd")
    decoded = _function("try", _function("decode", node.this.copy()))
    return exp.Coalesce(
        this=decoded,
        expressions=[_function("athena_from_utf8", node.this.copy(), replacement)],
    )


def _average(node: exp.Avg, _dates: frozenset[str]) -> exp.Expression:
    """avg of a decimal keeps Athena's decimal result (not inside a window)."""
    if isinstance(node.parent, exp.Window):
        return node
    decimal = _decimal_type(node.this)
    return _decimal_avg(node, *decimal) if decimal else node


def _byte_length(node: exp.Length, _dates: frozenset[str]) -> exp.Expression:
    """Athena: length(to_utf8(s)) is the byte length of s."""
    if not isinstance(node.this, exp.Encode):
        return node
    return _function("octet_length", node.this)


def _at_time_zone(node: exp.AtTimeZone, _dates: frozenset[str]) -> exp.Expression:
    """Athena converts the instant; DuckDB would read a plain timestamp as local to `zone`."""
    return _function("timezone", node.args["zone"], _cast(node.this, "timestamptz"))


def _json_format(node: exp.JSONFormat, date_columns: frozenset[str]) -> exp.Expression:
    """DuckDB wrote this JSON text itself (minified, as to_json would): json_format need
    not parse and re-serialise it. (Measured: ~14% of the backfill stage.)"""
    if not _is_duckdb_written_json(node.this):
        return node
    return _cast(_rewrite_tree(node.this, date_columns), "varchar")


def _try_json_map(node: exp.Try, date_columns: frozenset[str]) -> exp.Expression:
    """try(cast(json as map(varchar, json))): Trino gives NULL for a non-object or an
    object with duplicate keys. DuckDB's cast raises there, and TRY then redoes the whole
    vector row by row; json_transform returns NULL for exactly those cases."""
    if not (
        isinstance(node.this, exp.Cast)
        and node.this.to.sql(WRITE_DIALECT).upper() in _JSON_MAP_TYPES
    ):
        return node
    source = node.this.this
    if isinstance(source, exp.ParseJSON):
        source = source.this  # json_transform parses VARCHAR itself
    return exp.Try(
        this=_function(
            "json_transform",
            _rewrite_tree(source, date_columns),
            exp.Literal.string('"MAP(VARCHAR, JSON)"'),
        )
    )


def _invalid_json(node: exp.Is, date_columns: frozenset[str]) -> exp.Expression:
    """try(json_parse(x)) is null: only validity matters, json_valid skips building the
    parsed value (and TRY's row-by-row retry of vectors with a bad line)."""
    if not (
        isinstance(node.expression, exp.Null)
        and isinstance(node.this, exp.Try)
        and isinstance(node.this.this, exp.ParseJSON)
    ):
        return node
    valid = _function("json_valid", _rewrite_tree(node.this.this.this, date_columns))
    return exp.Not(this=exp.Coalesce(this=valid, expressions=[exp.false()]))


def _trim_pattern(node: exp.RegexpReplace, _dates: frozenset[str]) -> exp.Expression:
    """regexp_replace(column, '^[ ...]+|[ ...]+$', '') is a trim of those characters."""
    if not isinstance(node.this, exp.Column):
        return node
    characters = _trimmed_characters(node)
    return node if characters is None else _trim_when_needed(node, characters)


def _json_extract_scalar(node: exp.JSONExtractScalar, date_columns: frozenset[str]
                         ) -> exp.Expression:
    extracted = _json_function("athena_json_extract_scalar", node, date_columns)
    text = extracted.expressions[0]
    if _is_cheap_text(text) and _json_path_literal(node.expression).name == "$":
        return _string_value_when_quoted(text, extracted)
    return extracted


def _json_extract(node: exp.JSONExtract, date_columns: frozenset[str]) -> exp.Expression:
    if node.args.get("expressions"):
        return node
    return _json_function("athena_json_extract", node, date_columns)


def _json_as_text(node: exp.Cast, _dates: frozenset[str]) -> exp.Expression:
    """cast(json as varchar): Athena's text of the JSON value."""
    if not (
        isinstance(node.this, exp.JSONExtract | exp.ParseJSON)
        and node.to.is_type(*exp.DataType.TEXT_TYPES)
    ):
        return node
    return _function("athena_json_to_varchar", node.this)


def _date_add(node: exp.DateAdd | exp.DateSub, date_columns: frozenset[str]) -> exp.Expression:
    """Athena: date_add on a date is a date; DuckDB's date + interval is a timestamp."""
    unit = node.args.get("unit")
    if (unit is None or unit.name.upper() in _DATE_UNITS) and _date_operand(node, date_columns):
        return _cast(node, "date")
    return node


def _date_plus_interval(node: exp.Add | exp.Sub, date_columns: frozenset[str]
                        ) -> exp.Expression:
    """date +/- interval 'n' day stays a date, as in Athena."""
    if not isinstance(node.expression, exp.Interval):
        return node
    unit = node.expression.args.get("unit")
    if unit is not None and unit.name.upper() in _DATE_UNITS and _date_operand(node, date_columns):
        return _cast(node, "date")
    return node


# Athena functions that reach sqlglot as exp.Anonymous: upper-case name -> rewrite of its
# arguments (None when the call is not the form rewritten).
_FUNCTION_REWRITES = {
    "FORMAT_DATETIME": _format_datetime,
    "AT_TIMEZONE": _at_timezone_call,
    "WITH_TIMEZONE": _with_timezone,
    "MAP_FILTER": _map_filter_call,
    "IS_FINITE": _is_finite,
    **{name: _url_extract(name) for name in _URL_PATTERNS},
}

# Node type -> its rewrite; a node of any other type is left as it is.
_REWRITES = {
    exp.Table: _drop_catalog,
    exp.ParseDatetime: _parse_datetime,
    exp.Anonymous: _named_function,
    exp.Decode: _from_utf8,
    exp.Avg: _average,
    exp.Length: _byte_length,
    exp.AtTimeZone: _at_time_zone,
    exp.JSONFormat: _json_format,
    exp.Try: _try_json_map,
    exp.Is: _invalid_json,
    exp.RegexpReplace: _trim_pattern,
    exp.JSONExtractScalar: _json_extract_scalar,
    exp.JSONExtract: _json_extract,
    exp.Cast: _json_as_text,
    exp.DateAdd: _date_add,
    exp.DateSub: _date_add,
    exp.Add: _date_plus_interval,
    exp.Sub: _date_plus_interval,
}


# --- DDL ---------------------------------------------------------------------------------

_LOCAL_TABLE_PROPERTIES = (exp.ExternalProperty,)


def _properties(tree: exp.Create) -> list[exp.Expression]:
    props = tree.args.get("properties")
    return list(props.expressions) if props else []


def _rewrite_create(tree: exp.Create) -> exp.Expression:
    kind = (tree.args.get("kind") or "").upper()
    if kind == "DATABASE":
        # Athena's database = S3 Tables namespace = a DuckDB schema.
        return exp.Create(
            this=exp.Table(db=exp.to_identifier(tree.this.name)),
            kind="SCHEMA",
            exists=tree.args.get("exists"),
        )
    if kind != "TABLE":
        return tree
    props = _properties(tree)
    if any(isinstance(p, exp.ExternalProperty) for p in props):
        return _external_table_view(tree, props)
    # Iceberg partition transforms, TBLPROPERTIES, LOCATION, WITH (...) have no DuckDB
    # meaning: the local table holds the same columns, unpartitioned.
    tree = tree.copy()
    tree.set("properties", None)
    return tree


def _external_table_view(tree: exp.Create, props: list[exp.Expression]) -> exp.Expression:
    r"""CREATE EXTERNAL TABLE over text files -> a view with one row per line under LOCATION.

    As Athena's text reader (LazySimpleSerDe) does: lines end at \n, \r\n or \r,
    blank lines are '' rows, invalid UTF-8 bytes become U+FFFD, .gz files are
    decompressed, files whose name starts with _ or . are skipped, `"$path"` is the
    source file and Hive partition columns (dt=...) come from the folder names. Lines
    are read by the `athena_text_lines` function the local engine registers (DuckDB's
    CSV reader rejects a whole file on one invalid UTF-8 byte). Only the
    one-string-column text layout is supported: that is what the archive needs.
    """
    columns = [c for c in tree.this.expressions if isinstance(c, exp.ColumnDef)]
    location = next((p.this for p in props if isinstance(p, exp.LocationProperty)), None)
    if location is None or not location.is_string:
        raise TranspileError("CREATE EXTERNAL TABLE needs a LOCATION '<folder or file>' locally")
    partition_columns: list[exp.ColumnDef] = []
    for prop in props:
        if isinstance(prop, exp.PartitionedByProperty):
            partition_columns += [c for c in prop.this.expressions if isinstance(c, exp.ColumnDef)]
        if isinstance(prop, exp.RowFormatSerdeProperty):
            raise TranspileError("local external tables support text files only, not a SerDe")
    if len(columns) != 1 or not columns[0].args["kind"].is_type(*exp.DataType.TEXT_TYPES):
        raise TranspileError(
            "local external tables support one string column (one row per text line)"
        )
    path = location.name
    # LOCATION names a folder (as on S3) or, locally, also one file or a glob.
    patterns = [path] if any(ch in path for ch in "*?[") else [path.rstrip("/") + "/**", path]
    listing = " union ".join(
        f"select file from glob({exp.Literal.string(p).sql(WRITE_DIALECT)})" for p in patterns
    )
    files = f"select file from ({listing}) where not regexp_matches(file, '(^|/)[_.][^/]*$')"
    line = columns[0].this.sql(WRITE_DIALECT)
    selected = [f"line as {line}", 'file as "$path"']
    for column in partition_columns:
        name = column.this.name
        value = f"regexp_extract(file, '/{re.escape(name)}=([^/]*)/', 1)"
        selected.append(
            f"cast(nullif({value}, '') as {column.args['kind'].sql(WRITE_DIALECT)}) "
            f"as {column.this.sql(WRITE_DIALECT)}"
        )
    view = tree.this.this.sql(WRITE_DIALECT)
    return sqlglot.parse_one(
        f"create or replace view {view} as select {', '.join(selected)} from "
        f"(select file, unnest(athena_text_lines(file)) as line from ({files}) as files) "
        "as lines",
        read=WRITE_DIALECT,
    )


def from_utf8(data: bytes | None, replacement: str | None) -> str | None:
    """Athena's from_utf8(binary, replace): invalid UTF-8 sequences become `replacement`."""
    if data is None:
        return None
    text = bytes(data).decode("utf-8", "replace")
    return text if replacement in (None, "\ufffd") else text.replace("\ufffd", replacement)


def text_lines(path: str) -> list[str]:
    """A text file's lines as Athena's text reader yields them (see _external_table_view)."""
    with open(path, "rb") as handle:
        data = handle.read()
    if path.endswith(".gz") or data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return [line.decode("utf-8", "replace") for line in data.splitlines()]


# --- integer division -----------------------------------------------------------------------


_DATE_ARITHMETIC = (exp.DateAdd, exp.DateSub, exp.Add, exp.Sub)


def _is_date_arithmetic(node: exp.Expression) -> bool:
    if isinstance(node, exp.DateAdd | exp.DateSub):
        return True
    return isinstance(node, exp.Add | exp.Sub) and isinstance(node.expression, exp.Interval)


def _typed_rewrites(tree: exp.Expression, schema: dict | None) -> exp.Expression:
    """Rewrites that depend on operand types, found by sqlglot's type annotation.

    Types come from annotating a qualified copy of the statement against the lake's table
    schemas, so CTE and subquery columns are typed too:
    - Athena divides integers by integers as integers (7 / 2 = 3) where DuckDB's `/`
      gives 3.5: such divisions become DuckDB's `//` (truncating toward zero, as Athena);
    - date arithmetic on a DATE operand is marked so the rewrite keeps it a date.
    When typing fails the statement is left to the name-based rules.
    """
    candidates = [n for n in tree.walk() if isinstance(n, exp.Div) or _is_date_arithmetic(n)]
    if not candidates:
        return tree
    # Annotating a large statement costs a good part of a second (the backfill's stage
    # insert): skip it when every candidate's operand types are spelled out in the SQL.
    decided = [_decide_syntactically(node) for node in candidates]
    if all(decision is not None for decision in decided):
        for node, decision in zip(candidates, decided, strict=True):
            _apply_typed_rewrite(node, decision)
        return tree
    for number, node in enumerate(candidates):
        node.meta["typed_rewrite"] = number
    integer_divisions: set[int] = set()
    date_arithmetic: set[int] = set()
    try:
        mapping = MappingSchema(schema or {}, dialect=WRITE_DIALECT, normalize=False)
        typed = annotate_types(
            qualify(
                tree.copy(),
                schema=mapping,
                dialect=READ_DIALECT,
                validate_qualify_columns=False,
                quote_identifiers=False,
                identify=False,
            ),
            schema=mapping,
            dialect=READ_DIALECT,
        )
        for node in typed.walk():
            number = node.meta.get("typed_rewrite")
            if number is None:
                continue
            if isinstance(node, exp.Div):
                if node.left.is_type(*exp.DataType.INTEGER_TYPES) and node.right.is_type(
                    *exp.DataType.INTEGER_TYPES
                ):
                    integer_divisions.add(number)
            elif node.this.is_type(exp.DataType.Type.DATE):
                date_arithmetic.add(number)
    except Exception:  # typing is best effort
        return tree
    for node in candidates:
        number = node.meta["typed_rewrite"]
        _apply_typed_rewrite(node, number in date_arithmetic or number in integer_divisions)
    return tree


def _apply_typed_rewrite(node: exp.Expression, applies: bool) -> None:
    """Mark a date operand, or make an integer division DuckDB's `//`."""
    if not applies:
        return
    if isinstance(node, exp.Div):
        node.replace(exp.IntDiv(this=node.left.copy(), expression=node.right.copy()))
    else:
        node.meta["date_operand"] = True


def _syntactic_type(node: exp.Expression) -> exp.DataType | None:
    """The type of an operand when the SQL spells it out (cast, literal), else None."""
    while isinstance(node, exp.Paren | exp.Neg):
        node = node.this
    if isinstance(node, exp.Cast):  # TryCast is a Cast
        return node.to
    if isinstance(node, exp.Literal) and not node.is_string:
        is_integer = re.fullmatch(r"[0-9]+", node.name) is not None
        return exp.DataType.build("bigint" if is_integer else "double")
    if isinstance(node, exp.DateAdd | exp.DateSub):
        operand = _syntactic_type(node.this)
        return None if operand is None or operand.is_type(exp.DataType.Type.DATE) else operand
    return None


def _decide_syntactically(node: exp.Expression) -> bool | None:
    """Whether a typed rewrite applies, from the spelled-out types; None = needs typing."""
    if isinstance(node, exp.Div):
        left, right = _syntactic_type(node.left), _syntactic_type(node.right)
        if left is None or right is None:
            return None
        return left.is_type(*exp.DataType.INTEGER_TYPES) and right.is_type(
            *exp.DataType.INTEGER_TYPES
        )
    if isinstance(node, exp.DateAdd | exp.DateSub):
        operand = _syntactic_type(node.this)
        return None if operand is None else operand.is_type(exp.DataType.Type.DATE)
    return None  # date +/- interval: left to the annotation


# --- entry point -------------------------------------------------------------------------


def to_duckdb(
    tree: exp.Expression | str,
    date_columns: frozenset[str] = frozenset(),
    schema: dict | None = None,
) -> str:
    """DuckDB SQL for one Athena statement.

    `date_columns` = column names known to be DATE; `schema` = {schema: {table: {column:
    DuckDB type}}} of the lake, used to find integer divisions.
    """
    # the tree is this call's own copy: generated without a second deep copy
    return duckdb_sql(to_duckdb_tree(tree, date_columns, schema), copy=False)


def duckdb_sql(tree: exp.Expression, copy: bool = True) -> str:
    """DuckDB SQL of a tree (or a part of one) that `to_duckdb_tree` rewrote."""
    sql = tree.sql(WRITE_DIALECT, copy=copy, unsupported_level=sqlglot.ErrorLevel.RAISE)
    return re.sub(r"\s+$", "", sql)


def to_duckdb_tree(
    tree: exp.Expression | str,
    date_columns: frozenset[str] = frozenset(),
    schema: dict | None = None,
) -> exp.Expression:
    """One Athena statement rewritten for DuckDB, still as a tree (a copy), so callers can
    run parts of it (the local engine runs a MERGE's source, update and insert apart)."""
    if isinstance(tree, str):
        tree = parse_athena(tree)
    reason = athena_only_reason(tree)
    if reason:
        raise TranspileError(f"{reason} runs on Athena/Trino only")
    if isinstance(tree, exp.Create):
        tree = _rewrite_create(tree)
    tree = _typed_rewrites(tree.copy(), schema)
    date_columns = frozenset(name.lower() for name in date_columns)
    # the tree is already this call's own copy: no second deep copy (large statements)
    return tree.transform(lambda node: _rewrite_expression(node, date_columns), copy=False)
