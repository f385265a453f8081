#!/usr/bin/env python3
"""Generates crates/server/src/cmd/spec_table.rs from ../shared/spec/commands/*.json.

The JSON specs (BSD-3 data from Valkey 8.0.1) describe every command: arity, flags, ACL
categories, key specs, arguments and docs. Cinnabar matches Redis 7.0, so commands introduced
after 7.0 are left out, except the few 7.2 ones that modern clients send on connect.

Run from the repository root:  python3 tools/gen_command_table.py
"""
import glob
import json
import os
import sys

SPEC_DIR = os.environ.get("SPEC_DIR", "../shared/spec/commands")
OUT = "crates/server/src/cmd/spec_table.rs"
# Post-7.0 commands clients rely on (redis-py, redis-rs and go-redis send CLIENT SETINFO).
ALLOW_NEWER = {"CLIENT|SETINFO", "CLIENT|NO-TOUCH"}


def version_key(v):
    return tuple(int(x) for x in v.split("."))


def in_redis_70(full_name, since):
    return version_key(since) < (7, 1, 0) or full_name in ALLOW_NEWER


def rs_str(s):
    return json.dumps(s if s is not None else "", ensure_ascii=False)


def rs_opt(s):
    return "None" if s is None else f"Some({rs_str(s)})"


def strs(items):
    return "&[" + ", ".join(rs_str(x) for x in items) + "]"


def acl_categories(spec):
    cats = []
    flags = spec.get("command_flags", [])
    # Implicit categories Redis adds from the command flags (setImplicitACLCategories).
    if "WRITE" in flags:
        cats.append("write")
    if "READONLY" in flags and "SCRIPTING" not in spec.get("acl_categories", []):
        cats.append("read")
    if "ADMIN" in flags:
        cats += ["admin", "dangerous"]
    if "PUBSUB" in flags:
        cats.append("pubsub")
    if "FAST" in flags:
        cats.append("fast")
    if "BLOCKING" in flags:
        cats.append("blocking")
    for c in spec.get("acl_categories", []):
        if c.lower() not in cats:
            cats.append(c.lower())
    if "fast" not in cats:
        cats.append("slow")
    return ["@" + c for c in cats]


def key_spec(ks):
    flags = [f if f in ("RW", "RO", "OW", "RM") else f.lower() for f in ks.get("flags", [])]
    bs = ks["begin_search"]
    if "index" in bs:
        begin = f"Begin::Index({bs['index']['pos']})"
    elif "keyword" in bs:
        kw = bs["keyword"]
        begin = f"Begin::Keyword({rs_str(kw['keyword'])}, {kw['startfrom']})"
    else:
        begin = "Begin::Unknown"
    fk = ks.get("find_keys", {})
    if "range" in fk:
        r = fk["range"]
        find = f"Find::Range({r['lastkey']}, {r['step']}, {r['limit']})"
    elif "keynum" in fk:
        r = fk["keynum"]
        find = f"Find::Keynum({r['keynumidx']}, {r['firstkey']}, {r['step']})"
    else:
        find = "Find::Unknown"
    return f"KeySpec {{ flags: {strs(flags)}, notes: {rs_str(ks.get('notes', ''))}, begin: {begin}, find: {find} }}"


def legacy_range(spec):
    """(first, last, step, movable) as Redis 7.0's populateCommandLegacyRangeSpec computes."""
    specs = spec.get("key_specs", [])
    movable = "get_keys_function" in spec
    if not specs:
        return 0, 0, 0, movable

    def plain(ks):
        return "index" in ks["begin_search"] and "range" in ks.get("find_keys", {})

    if len(specs) == 1 and plain(specs[0]):
        ks = specs[0]
        pos, r = ks["begin_search"]["index"]["pos"], ks["find_keys"]["range"]
        last = r["lastkey"] + pos if r["lastkey"] >= 0 else r["lastkey"]
        if "INCOMPLETE" in ks.get("flags", []):
            movable = True
        return pos, last, r["step"], movable
    first, last, prev_last = None, 0, 0
    for ks in specs:
        if not plain(ks):
            movable = True
            continue
        pos, r = ks["begin_search"]["index"]["pos"], ks["find_keys"]["range"]
        if r["step"] != 1 or (prev_last and prev_last != pos - 1):
            movable = True
            continue
        if "INCOMPLETE" in ks.get("flags", []):
            movable = True
        first = pos if first is None else min(first, pos)
        abs_last = r["lastkey"] + pos if r["lastkey"] >= 0 else r["lastkey"]
        last = max(last & 0xFFFFFFFF, abs_last & 0xFFFFFFFF)
        if last >= 1 << 31:
            last -= 1 << 32
        prev_last = last
    if first is None:
        return 0, 0, 0, movable
    return first, last, 1, movable


def arg(a):
    flags = []
    return (
        "Arg { "
        f"name: {rs_str(a['name'])}, kind: {rs_str(a['type'])}, token: {rs_opt(a.get('token'))}, "
        f"display: {rs_opt(a.get('display'))}, since: {rs_opt(a.get('since'))}, "
        f"optional: {str(a.get('optional', False)).lower()}, "
        f"multiple: {str(a.get('multiple', False)).lower()}, "
        f"multiple_token: {str(a.get('multiple_token', False)).lower()}, "
        f"key_spec_index: {a.get('key_spec_index', -1)}, "
        f"args: &[{', '.join(arg(x) for x in a.get('arguments', []))}] }}"
    )


def command(name, spec, subs):
    first, last, step, movable = legacy_range(spec)
    flags = [f.lower() for f in spec.get("command_flags", [])]
    if movable:
        flags.append("movablekeys")
    doc_flags = [f.lower() for f in spec.get("doc_flags", [])]
    return (
        "CommandSpec { "
        f"name: {rs_str(name.lower())}, arity: {spec['arity']}, flags: {strs(flags)}, "
        f"acl: {strs(acl_categories(spec))}, first_key: {first}, last_key: {last}, key_step: {step}, "
        f"key_specs: &[{', '.join(key_spec(k) for k in spec.get('key_specs', []))}], "
        f"tips: {strs([t.lower() for t in spec.get('command_tips', [])])}, "
        f"group: {rs_str(spec['group'])}, since: {rs_str(spec['since'])}, "
        f"summary: {rs_str(spec.get('summary', ''))}, complexity: {rs_str(spec.get('complexity', ''))}, "
        f"doc_flags: {strs(doc_flags)}, deprecated_since: {rs_opt(spec.get('deprecated_since'))}, "
        f"replaced_by: {rs_opt(spec.get('replaced_by'))}, "
        f"history: &[{', '.join('(' + rs_str(h[0]) + ', ' + rs_str(h[1]) + ')' for h in spec.get('history', []))}], "
        f"args: &[{', '.join(arg(a) for a in spec.get('arguments', []))}], "
        f"subcommands: &[{', '.join(subs)}] }}"
    )


def main():
    tops, subs = {}, {}
    for path in sorted(glob.glob(os.path.join(SPEC_DIR, "*.json"))):
        with open(path) as f:
            (name, spec), = json.load(f).items()
        container = spec.get("container")
        full = f"{container}|{name}" if container else name
        if not in_redis_70(full, spec["since"]):
            continue
        if container:
            subs.setdefault(container, []).append((name, spec))
        else:
            tops[name] = spec
    out = [
        "// @generated by tools/gen_command_table.py from shared/spec/commands (Valkey 8.0.1 specs,",
        "// BSD-3-Clause). Do not edit by hand: change the generator and run it again.",
        "",
        "use super::spec::{Arg, Begin, CommandSpec, Find, KeySpec};",
        "",
        "pub static SPECS: &[CommandSpec] = &[",
    ]
    for name in sorted(tops):
        sub_rs = [command(n, s, []) for n, s in sorted(subs.get(name, []))]
        out.append("    " + command(name, tops[name], sub_rs) + ",")
    out.append("];")
    with open(OUT, "w") as f:
        f.write("\n".join(out) + "\n")
    print(f"{len(tops)} commands, {sum(len(v) for v in subs.values())} subcommands -> {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
