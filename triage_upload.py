#!/usr/bin/env python3
"""Post test reports to Triage from CI: Triage JSON, JUnit, NUnit, xUnit or TRX; files or folders.

Runs with the standard library alone (copy this file into any CI), or as `triage-upload`
when the triage package is installed.

    TRIAGE_TOKEN=... triage-upload --url https://triage.example.com --project dispatch \\
        --run-id "$GITHUB_RUN_ID-$GITHUB_RUN_ATTEMPT" --suite smoke reports/

Files that are not test reports (Failsafe's failsafe-summary.xml, other JSON) are skipped with
a line saying so. A file Triage refuses is reported and the others are still sent.

Exit codes: 0 stored, 1 some file refused by Triage (its error is printed), 2 usage,
3 unreachable.
"""

import argparse
import gzip
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ElementTree
from pathlib import Path

RETRIES = 5
TIMEOUT_SECONDS = 60
SUFFIXES = (".json", ".xml", ".trx")
XML_SUFFIXES = (".xml", ".trx")
# The root elements of the XML reports Triage reads (namespaces aside).
REPORT_ROOTS = {"testsuites", "testsuite", "test-run", "test-results", "assemblies", "TestRun"}


class Refused(Exception):
    """Triage answered 4xx: the report itself is wrong, retrying will not help."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class Unreachable(Exception):
    pass


def _files(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES)
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"no such file or folder: {raw}")
    return found


class Broken(Exception):
    """A file that should be a report and cannot be read: counted as refused."""


def not_a_report(path: Path) -> str | None:
    """Why a readable file is not a test report Triage reads, or None when it is one. A file
    that cannot be read or parsed raises Broken: a runner that crashed mid-write must not
    pass unseen."""
    if path.suffix.lower() in XML_SUFFIXES:
        try:
            # CI's own files, read only up to the root element's start (no entity is expanded
            # by then); the uploader stays standard library only, so no defusedxml here.
            _, root = next(ElementTree.iterparse(path, events=("start",)))  # noqa: S314
        except (ElementTree.ParseError, StopIteration, OSError) as error:
            raise Broken(f"not well-formed XML ({error or 'empty'})") from None
        tag = root.tag.rpartition("}")[2]
        return None if tag in REPORT_ROOTS else f"its root element <{tag}> is not a test report"
    try:
        document = json.loads(path.read_bytes())
    except (ValueError, OSError) as error:
        raise Broken(f"not JSON ({error})") from None
    if not isinstance(document, dict) or not {"run", "scenarios"} & document.keys():
        return 'a JSON file with neither "run" nor "scenarios"'
    return None


def _endpoint(args: argparse.Namespace, path: Path, index: int, count: int) -> tuple[str, str]:
    base = f"{args.url.rstrip('/')}/api/v1/projects/{urllib.parse.quote(args.project)}/runs"
    if path.suffix.lower() not in XML_SUFFIXES:
        return base, "application/json"
    if not args.run_id or not args.suite:
        raise ValueError("XML reports need --run-id and --suite")
    # Several XML files of one job become runs of their own: same id with a file suffix.
    run_id = args.run_id if count == 1 else f"{args.run_id}-{index + 1}-{path.stem}"
    query = {
        "runId": run_id, "suite": args.suite, "branch": args.branch, "commit": args.commit,
        "url": args.ci_url, "rerunToken": args.rerun_token, "rerunOf": args.rerun_of,
    }  # fmt: skip
    return base + "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v}), (
        "application/xml"
    )


def post_report(
    url: str, content_type: str, body: bytes, token: str, *, pause: float = 1.0, secret: str = ""
) -> dict:
    """POST gzip'd `body`; retry 5xx and connection errors with backoff; 4xx raises Refused."""
    data = gzip.compress(body)
    for attempt in range(1, RETRIES + 1):
        headers = {
            "Authorization": f"Bearer {token}", "Content-Type": content_type,
            "Content-Encoding": "gzip", "User-Agent": "triage-upload",
        }  # fmt: skip
        if secret:
            # Signed anew on every try: the timestamp must be fresh.
            stamp = str(int(time.time()))
            parts = urllib.parse.urlsplit(url)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            signed = stamp.encode() + b"." + target.encode() + b"." + data
            mac = hmac.new(secret.encode(), signed, hashlib.sha256)
            headers["X-Triage-Timestamp"] = stamp
            headers["X-Triage-Signature"] = "sha256=" + mac.hexdigest()
        request = urllib.request.Request(url, data=data, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            text = error.read().decode(errors="replace")
            if error.code < 500:
                message = f"Triage refused {url} with {error.code}: {text}"
                raise Refused(message, error.code) from None
            problem = f"{error.code}: {text[:300]}"
        except (urllib.error.URLError, OSError) as error:
            problem = str(error)
        if attempt == RETRIES:
            raise Unreachable(f"gave up after {RETRIES} tries: {problem}")
        wait = pause * 2 ** (attempt - 1)
        print(f"triage-upload: try {attempt} failed ({problem}); again in {wait:.0f}s",
              file=sys.stderr)  # fmt: skip
        time.sleep(wait)
    raise Unreachable("no try was made")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", help="report files or folders of them")
    parser.add_argument("--url", default=os.environ.get("TRIAGE_URL"), help="Triage's address")
    parser.add_argument("--project", default=os.environ.get("TRIAGE_PROJECT"))
    parser.add_argument("--token-env", default="TRIAGE_TOKEN",
                        help="environment variable holding the project token")  # fmt: skip
    parser.add_argument("--signing-secret-env", default="TRIAGE_SIGNING_SECRET",
                        help="environment variable holding the signing secret, if any")  # fmt: skip
    parser.add_argument("--run-id", help="CI's id of this run attempt (JUnit XML)")
    parser.add_argument("--suite", help="suite name, e.g. smoke (JUnit XML)")
    parser.add_argument("--branch")
    parser.add_argument("--commit")
    parser.add_argument("--ci-url", help="link to this CI run")
    parser.add_argument(
        "--rerun-token",
        default=os.environ.get("TRIAGE_RERUN_TOKEN"),
        help="the token of the Triage rerun this run answers (JUnit XML)",
    )
    parser.add_argument("--rerun-of", help="CI run id this run reruns (JUnit XML)")
    parser.add_argument("--retry-pause", type=float, default=1.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    token = os.environ.get(args.token_env, "")
    if not (args.url and args.project and token):
        parser.error(f"--url, --project and the token in ${args.token_env} are required")
    try:
        files = _files(args.paths)
    except FileNotFoundError as error:
        parser.error(str(error))
    reports = []
    refused = 0
    for path in files:
        try:
            reason = not_a_report(path)
        except Broken as error:
            print(f"triage-upload: {path}: {error}", file=sys.stderr)
            refused += 1
            continue
        if reason:
            print(f"triage-upload: skipped {path}: {reason}", file=sys.stderr)
        else:
            reports.append(path)
    if not reports and not refused:
        parser.error("no test report found")
    unreadable = refused
    for index, path in enumerate(reports):
        try:
            url, content_type = _endpoint(args, path, index, len(reports))
            answer = post_report(url, content_type, path.read_bytes(), token,
                                 pause=args.retry_pause,
                                 secret=os.environ.get(args.signing_secret_env, ""))  # fmt: skip
        except ValueError as error:
            parser.error(str(error))
        except Refused as error:
            print(f"triage-upload: {path}: {error}", file=sys.stderr)
            if error.status in (401, 403, 404):
                return 1  # the token or the project is wrong: no other file will fare better
            # One bad file must not cost the others: report it and go on.
            refused += 1
            continue
        except Unreachable as error:
            print(f"triage-upload: {error}", file=sys.stderr)
            return 3
        print(answer.get("url", ""))
    if refused:
        total = len(reports) + unreadable
        print(f"triage-upload: {refused} of {total} reports refused", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
