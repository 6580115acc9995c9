"""What sending a file inline costs Junction per call: base64 + JSON encoding
of an OpenAI Responses body carrying it as ``file_data`` (CPU on the event
loop), and the body's size on the wire. The numbers behind
``FILES_UPSTREAM_MIN_BYTES`` (docs/files.md): below it a file goes inline,
above it it is uploaded once to the upstream's files API and named by id.

    .venv/bin/python bench/file_inline_cost.py
"""

from __future__ import annotations

import base64
import os
import time

import msgspec

SIZES_KB = (64, 512, 5 * 1024, 25 * 1024)
LINK_MBIT = 100  # a modest egress link


def main() -> None:
    for kb in SIZES_KB:
        data = os.urandom(kb * 1024)
        started, calls = time.perf_counter(), 0
        while time.perf_counter() - started < 1.0:
            url = "data:application/pdf;base64," + base64.b64encode(data).decode()
            part = {"type": "input_file", "file_data": url, "filename": "a.pdf"}
            body = msgspec.json.encode(
                {"model": "gpt-4o-mini", "input": [{"role": "user", "content": [part]}]}
            )
            calls += 1
        per_call_ms = (time.perf_counter() - started) / calls * 1000
        wire_ms = len(body) * 8 / (LINK_MBIT * 1e6) * 1000
        print(
            f"{kb:>6} KB file: body {len(body) / 2**20:6.2f} MB, encode {per_call_ms:7.2f} ms/call, "
            f"{wire_ms:6.0f} ms on a {LINK_MBIT} Mbit/s link"
        )


if __name__ == "__main__":
    main()
