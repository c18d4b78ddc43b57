#!/usr/bin/python3
"""Validates JSON span lists against the Zipkin v2 API's ListOfSpans definition.

usage: zipkin_schema_check.py <zipkin2-api.yaml> <body.json>...
Prints "valid: N spans" and exits 0 when every file is valid; prints each error and exits 1.
"""
import json
import sys

import jsonschema
import yaml


def main():
    with open(sys.argv[1]) as f:
        api = yaml.safe_load(f)
    schema = {"$ref": "#/definitions/ListOfSpans", "definitions": api["definitions"]}
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
    failed = False
    spans = 0
    for path in sys.argv[2:]:
        with open(path) as f:
            body = json.load(f)
        for error in validator.iter_errors(body):
            failed = True
            print("%s: %s at %s" % (path, error.message, list(error.absolute_path)))
        if isinstance(body, list):
            spans += len(body)
    if failed:
        return 1
    print("valid: %d spans" % spans)
    return 0


if __name__ == "__main__":
    sys.exit(main())
