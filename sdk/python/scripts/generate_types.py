#!/usr/bin/env python3
"""Writes src/airmy/types.py from the server's OpenAPI document (standard library only).

Every component schema becomes a TypedDict, and so does every operation's JSON body or query
string (``CreateRunParams``, ``ListRunsParams``). Inline objects get a class of their own named
after the parent and the field (``Run.usage`` -> ``RunUsage``; the items of ``Run.tool_calls`` ->
``RunToolCall``). A nullable field is ``Optional[...]``, string enums are ``Literal[...]``.
Optional keys use the two-class pattern (a ``total=False`` subclass of the required keys), which
works on Python 3.9 where ``NotRequired`` does not exist. A class with a key that is not a Python
identifier (``for``, ``from``) uses TypedDict's functional form.

The output depends only on the document, so ``generate.sh`` twice gives the same file.
Usage: python3 generate_types.py <openapi.json> <types.py>
"""
from __future__ import annotations

import json
import keyword
import re
import sys
from typing import Any, Dict, List, Tuple

HEADER = '''"""Types of the AIRMY API, generated from sdk/openapi.json by scripts/generate_types.py.

Do not edit: run sdk/python/generate.sh (or sdk/generate.sh) to regenerate.
Responses are plain dicts at runtime; these TypedDicts describe their keys for type checkers.
"""
from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional, TypedDict, Union
'''


def pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name) if part)


def singular(name: str) -> str:
    if name.endswith("ies"):
        return name[:-3] + "y"
    if name.endswith("s") and not name.endswith(("ss", "series")):
        return name[:-1]
    return name


class Generator:
    def __init__(self, doc: Dict[str, Any]) -> None:
        self.doc = doc
        self.blocks: List[str] = []
        self.names: set = set()

    def type_of(self, schema: Dict[str, Any], owner: str, field: str) -> str:
        """The annotation for `schema`; emits a class first when the schema is an inline object."""
        if "$ref" in schema:
            return schema["$ref"].rsplit("/", 1)[-1]
        variants = schema.get("anyOf") or schema.get("oneOf")
        if variants:
            nullable = any(v.get("type") == "null" for v in variants)
            rest = [v for v in variants if v.get("type") != "null"]
            if rest and all(v.get("type") == "string" and "enum" in v for v in rest):
                inner = self.literal([e for v in rest for e in v["enum"]])
            else:
                kinds: List[str] = []
                for v in rest:
                    t = self.type_of(v, owner, field)
                    if t not in kinds:
                        kinds.append(t)
                inner = kinds[0] if len(kinds) == 1 else "Union[%s]" % ", ".join(kinds)
            return "Optional[%s]" % inner if nullable else inner
        kind = schema.get("type")
        if isinstance(kind, list):  # OpenAPI 3.1 type arrays: ["string", "null"]
            others = [k for k in kind if k != "null"]
            inner = self.type_of(dict(schema, type=others[0]) if len(others) == 1 else {}, owner, field)
            return "Optional[%s]" % inner if "null" in kind else inner
        if "enum" in schema and kind in ("string", None):
            return self.literal(schema["enum"])
        if kind == "string":
            return "str"
        if kind == "integer":
            return "int"
        if kind == "number":
            return "float"
        if kind == "boolean":
            return "bool"
        if kind == "array":
            return "List[%s]" % self.type_of(schema.get("items", {}), owner, singular(field))
        if kind == "object" or "properties" in schema:
            if schema.get("properties"):
                return self.emit_class(owner + pascal(field), schema)
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict) and extra:
                return "Dict[str, %s]" % self.type_of(extra, owner, field)
            return "Dict[str, Any]"
        return "Any"

    @staticmethod
    def literal(values: List[Any]) -> str:
        return "Literal[%s]" % ", ".join(json.dumps(v) for v in values)

    def emit_class(self, name: str, schema: Dict[str, Any]) -> str:
        base, n = name, 2
        while name in self.names:  # two inline objects that would share a name
            name, n = "%s%d" % (base, n), n + 1
        self.names.add(name)
        required = set(schema.get("required", []))
        fields: List[Tuple[str, str, bool, str]] = []
        for key, prop in schema.get("properties", {}).items():
            doc = prop.get("description", "")
            fields.append((key, self.type_of(prop, name, key), key in required, doc))
        self.blocks.append(self.render(name, fields, schema.get("description", "")))
        return name

    @staticmethod
    def render(name: str, fields: List[Tuple[str, str, bool, str]], doc: str) -> str:
        req = [f for f in fields if f[2]]
        opt = [f for f in fields if not f[2]]
        functional = any(not f[0].isidentifier() or keyword.iskeyword(f[0]) for f in fields)
        out: List[str] = []
        if functional:
            def table(fs: List[Tuple[str, str, bool, str]]) -> str:
                return "{%s}" % ", ".join('"%s": "%s"' % (f[0], f[1].replace('"', "'")) for f in fs)

            if doc:
                out.append("# %s" % doc)
            if not (req and opt):
                total = "" if req else ", total=False"
                out.append('%s = TypedDict("%s", %s%s)' % (name, name, table(req or opt), total))
                return "\n".join(out)
            out.append('_%sRequired = TypedDict("_%sRequired", %s)' % (name, name, table(req)))
            out.append('_%sOptional = TypedDict("_%sOptional", %s, total=False)' % (name, name, table(opt)))
            out.extend(["", "", "class %s(_%sRequired, _%sOptional):" % (name, name, name), "    pass"])
            return "\n".join(out)

        def lines(fs: List[Tuple[str, str, bool, str]]) -> List[str]:
            body: List[str] = []
            for key, annotation, _, fdoc in fs:
                body.append("    %s: %s" % (key, annotation))
                if fdoc:
                    body.append('    """%s"""' % fdoc.replace('"""', "'''"))
            return body or ["    pass"]

        docline = ['    """%s"""' % doc.replace('"""', "'''"), ""] if doc else []
        if req and opt:
            out.append("class _%sRequired(TypedDict):" % name)
            out.extend(lines(req))
            out.append("")
            out.append("")
            out.append("class %s(_%sRequired, total=False):" % (name, name))
            out.extend(docline)
            out.extend(lines(opt))
        else:
            out.append("class %s(TypedDict%s):" % (name, "" if req else ", total=False"))
            out.extend(docline)
            out.extend(lines(req or opt))
        return "\n".join(out)

    def emit_response(self, op: Dict[str, Any]) -> None:
        """An inline 2xx answer that is not a list (`{"id", "object", "deleted"}`) gets a class."""
        for status in sorted(op.get("responses", {})):
            if not status.startswith("2"):
                continue
            schema = op["responses"][status].get("content", {}).get("application/json", {}).get("schema", {})
            props = schema.get("properties", {})
            if props and props.get("object", {}).get("enum") != ["list"]:
                self.emit_class(pascal(op["operationId"]) + "Response", schema)

    @staticmethod
    def merged(schema: Dict[str, Any]) -> Dict[str, Any]:
        """A schema that is one of several objects (`GET /auth/me`: a user or a principal) as one
        TypedDict: every variant's fields, required only where every variant requires them."""
        variants = [v for v in schema.get("anyOf") or schema.get("oneOf") or [] if v.get("properties")]
        if schema.get("properties") or not variants:
            return schema
        properties: Dict[str, Any] = {}
        for v in variants:
            for key, prop in v["properties"].items():
                seen = properties.setdefault(key, prop)
                if seen is not prop and "enum" in seen and "enum" in prop:  # `object`: "user" | "principal"
                    properties[key] = dict(seen, enum=seen["enum"] + [e for e in prop["enum"] if e not in seen["enum"]])
        required = set.intersection(*(set(v.get("required", [])) for v in variants))
        return {
            "description": schema.get("description", ""),
            "properties": properties,
            "required": [k for k in properties if k in required],
        }

    def run(self) -> str:
        for name, schema in self.doc["components"]["schemas"].items():
            self.emit_class(name, self.merged(schema))
        for path in sorted(self.doc["paths"]):
            for method, op in sorted(self.doc["paths"][path].items()):
                if not isinstance(op, dict) or "operationId" not in op:
                    continue
                self.emit_response(op)
                params_name = pascal(op["operationId"]) + "Params"
                body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
                if body and body.get("properties"):
                    self.emit_class(params_name, body)
                    continue
                query = [p for p in op.get("parameters", []) if p.get("in") == "query"]
                if query:
                    self.emit_class(params_name, {
                        "type": "object",
                        "required": [p["name"] for p in query if p.get("required")],
                        "properties": {
                            p["name"]: dict(p.get("schema", {}), **({"description": p["description"]} if p.get("description") else {}))
                            for p in query
                        },
                    })
        return HEADER + "\n\n" + "\n\n\n".join(self.blocks) + "\n\n\n__all__ = [\n%s]\n" % "".join(
            '    "%s",\n' % n for n in sorted(self.names))


def main() -> None:
    source, target = sys.argv[1], sys.argv[2]
    with open(source, encoding="utf-8") as f:
        doc = json.load(f)
    text = Generator(doc).run()
    with open(target, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


if __name__ == "__main__":
    main()
