#!/usr/bin/env python3
"""Checks CSIRT Mesh exports with tools this project did not write.

    check.py FILE...   # *.stix.json, *.misp.json, *.xarf.json

STIX bundles: the OASIS validator in strict mode finds 0 errors and 0
warnings; every observable's id equals the one the stix2 library computes;
misp-stix turns each grouping into a MISP event whose info is the
grouping's (the incident's) title and whose TLP tag is its label.
MISP events: pymisp loads each, keeps uuid, info and tags, and accepts every
attribute's type and category in strict mode.
X-ARF (one report per line): the xarf package finds 0 errors and 0 warnings.

Prints one line per file and check; exits 1 if any check fails.
"""
import copy
import json
import sys

import stix2
import xarf
from misp_stix_converter import ExternalSTIX2toMISPParser
from misp_stix_converter.tools import load_stix2_content
from pymisp import MISPAttribute, MISPEvent
from stix2validator import ValidationOptions, validate_string

TLP = {
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": "tlp:clear",
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": "tlp:green",
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": "tlp:amber",
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": "tlp:amber+strict",
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": "tlp:red",
}

failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)


def sco_id(o):
    """The id the stix2 library gives this observable's value."""
    t = o["type"]
    if t == "ipv4-addr":
        return stix2.v21.IPv4Address(value=o["value"]).id
    if t == "ipv6-addr":
        return stix2.v21.IPv6Address(value=o["value"]).id
    if t == "domain-name":
        return stix2.v21.DomainName(value=o["value"]).id
    if t == "url":
        return stix2.v21.URL(value=o["value"]).id
    if t == "email-addr":
        return stix2.v21.EmailAddress(value=o["value"]).id
    if t == "autonomous-system":
        return stix2.v21.AutonomousSystem(number=o["number"]).id
    if t == "file":
        return stix2.v21.File(hashes=o["hashes"]).id
    return None


def stix(path):
    text = open(path).read()
    bundle = json.loads(text)
    r = validate_string(text, ValidationOptions(strict=True, silent=True))
    msgs = [str(e) for e in r.errors] + [str(w) for w in r.warnings]
    check(r.is_valid and not r.errors and not r.warnings,
          f"{path}: stix2-validator --strict: {len(r.errors)} errors, {len(r.warnings)} warnings {msgs[:3]}")
    scos = [o for o in bundle["objects"] if sco_id(o)]
    wrong = [o["id"] for o in scos if sco_id(o) != o["id"]]
    check(not wrong, f"{path}: {len(scos)} observable ids equal stix2's {wrong[:3]}")
    groupings = [o for o in bundle["objects"] if o["type"] == "grouping"]
    if not groupings:
        check(True, f"{path}: no incidents, nothing for misp-stix")
        return
    parser = ExternalSTIX2toMISPParser()
    parser.load_stix_bundle(load_stix2_content(bundle))
    parser.parse_stix_bundle(single_event=False)
    events = {str(e.uuid): e for e in parser.misp_events}
    for g in groupings:
        uuid = g["id"].split("--", 1)[1]
        ev = events.get(uuid)
        want = [TLP[m] for m in g["object_marking_refs"]]
        got_tlp = sorted(t.name for t in ev.tags if t.name.startswith("tlp:")) if ev else None
        check(ev is not None and ev.info == g["name"] and got_tlp == want,
              f"{path}: misp-stix event {uuid}: info {ev.info if ev else None!r} == {g['name']!r}, TLP tags {got_tlp} == {want}")


def misp(path):
    doc = json.load(open(path))
    for wrapped in doc["response"]:
        raw = wrapped["Event"]
        ev = MISPEvent()
        ev.load(copy.deepcopy(wrapped))  # pymisp consumes what it loads
        out = json.loads(ev.to_json())
        out = out.get("Event", out)
        tags = [t["name"] for t in out.get("Tag", [])]
        want = [t["name"] for t in raw["Tag"]]
        check(out["uuid"] == raw["uuid"] and out["info"] == raw["info"] and tags == want,
              f"{path}: pymisp event {raw['uuid']}: uuid, info {raw['info']!r} and tags {want} round-trip")
        bad = []
        for a in raw.get("Attribute", []):
            try:
                attr = MISPAttribute(strict=True)
                attr.from_dict(**copy.deepcopy(a))
            except Exception as e:  # pymisp says which pair it refuses
                bad.append(f"{a['type']}/{a['category']}: {e}")
        check(not bad, f"{path}: {len(raw.get('Attribute', []))} attributes have valid type/category pairs {bad[:3]}")


def xarf_lines(path):
    lines = [l for l in open(path).read().splitlines() if l.strip()]
    for n, line in enumerate(lines):
        r = xarf.parse(line, strict=False)
        msgs = [f"{e.field}: {e.message}" for e in r.errors] + [f"{w.field}: {w.message}" for w in r.warnings]
        check(not r.errors and not r.warnings,
              f"{path}:{n + 1}: xarf: {len(r.errors)} errors, {len(r.warnings)} warnings {msgs[:3]}")
    check(True, f"{path}: {len(lines)} X-ARF reports")


for p in sys.argv[1:]:
    if p.endswith(".stix.json"):
        stix(p)
    elif p.endswith(".misp.json"):
        misp(p)
    elif p.endswith(".xarf.json"):
        xarf_lines(p)
    else:
        check(False, f"{p}: not a .stix.json, .misp.json or .xarf.json file")

print(f"{len(failures)} failed")
sys.exit(1 if failures else 0)
