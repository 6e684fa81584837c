"""moto's S3 server, with conditional writes evaluated atomically as S3 does.

moto checks `If-Match` / `If-None-Match` and then stores the object in two steps, on a server that
handles requests on many threads: two conditional PUTs carrying the same ETag can both pass the
check, so one writer's change silently disappears. S3 itself evaluates the condition and the
write as one step. This wrapper holds one lock around every PUT or DELETE that carries a
condition (reads and unconditional writes run concurrently as before), which makes moto honour
the contract the control plane and the job leases rely on. Arguments are moto_server's.
"""

import sys
import threading

from moto import server
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

_conditional = threading.Lock()
_dispatch = DomainDispatcherApplication.__call__


def _call(self, environ, start_response):
    conditional = environ.get("REQUEST_METHOD") in ("PUT", "DELETE") and (
        "HTTP_IF_MATCH" in environ or "HTTP_IF_NONE_MATCH" in environ
    )
    if not conditional:
        return _dispatch(self, environ, start_response)
    with _conditional:
        # The response is produced (and the object stored) inside the lock.
        return list(_dispatch(self, environ, start_response))


DomainDispatcherApplication.__call__ = _call

if __name__ == "__main__":
    sys.exit(server.main())
