"""`funnelsync` in a child process that dies by SIGKILL the moment its first write lands.

``python killed_cli.py EPOCH_SECONDS ARGS...`` runs ``funnelsync ARGS...`` with its commands on
a fake clock at ``EPOCH_SECONDS`` (the parent's sandbox clock), and kills itself (kill -9: no
``finally``, no exit handler, the run lock and the ``running`` run left behind) as soon as
Salesforce has answered 2xx to a record update (``PATCH composite/sobjects``): the CRM holds
the write, the state store does not know it yet. No timing is involved: the kill comes at the
same point of the run every time.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

import requests
from support.clock import FakeClock

from funnelsync.cli.main import main
from funnelsync.clock import commands_on

_send = requests.Session.send


def _send_then_die_after_a_write(self: requests.Session, request: Any, **kwargs: Any) -> Any:
    response = _send(self, request, **kwargs)
    if request.method == "PATCH" and "/composite/sobjects" in request.url and response.ok:
        os.kill(os.getpid(), signal.SIGKILL)
    return response


if __name__ == "__main__":
    requests.Session.send = _send_then_die_after_a_write  # type: ignore[method-assign]
    with commands_on(FakeClock(float(sys.argv[1])).timebase()):
        main(sys.argv[2:])
