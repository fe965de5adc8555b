"""The `ml` module on the E2B backend: the helpers the local runner gives the code (see runner.py).

Uploaded with the code and put in sys.modules by the prelude cell, so `import ml` finds it whatever
the working directory holds. Messages are kept here and printed by the epilogue cell, which the
backend reads; rich results go out through IPython's display, as a notebook's display() would.

ml.log/info/success/warn/danger/error(message) add a message at a level (ml.error(exc) with the
exception's traceback); ml.wait(ms) sleeps inside the sandbox, counting towards the step's time
limit; ml.json(value) and ml.markdown(text) add a result.
"""
import json as _json
import math as _math
import time as _time
import traceback as _traceback

_MAX_MESSAGES = 200
_MAX_MESSAGE_CHARS = 2000
# Filled in by the backend: the most characters a result may have.
_MAX_RESULT_CHARS = __MAX_RESULT_CHARS__

_messages = []


def _truncate(text, limit):
    return text if len(text) <= limit else text[:limit] + "\n[truncated]"


def _message_at(level):
    def send(message, *args):
        if isinstance(message, BaseException):
            lines = _traceback.format_exception(type(message), message, message.__traceback__)
            text = "".join(lines).rstrip()
        else:
            text = " ".join(str(part) for part in (message,) + args)
        if len(_messages) < _MAX_MESSAGES:
            _messages.append({"level": level, "message": _truncate(text, _MAX_MESSAGE_CHARS)})

    send.__name__ = level
    return send


log = _message_at("debug")
info = _message_at("info")
warn = _message_at("warning")
error = _message_at("error")
success = _message_at("success")
danger = _message_at("danger")


def wait(ms):
    seconds = float(ms) / 1000
    if not _math.isfinite(seconds) or seconds < 0:
        raise ValueError("ml.wait: a number of milliseconds, 0 or more")
    _time.sleep(seconds)


def _display(bundle):
    from IPython.display import display

    display(bundle, raw=True)


def json(value):
    text = _json.dumps(value, default=str)
    if len(text) > _MAX_RESULT_CHARS:
        raise ValueError("ml.json: the value is too large to show; write it to a file instead")
    _display({"application/json": _json.loads(text)})


def markdown(text):
    _display({"text/markdown": _truncate(str(text), _MAX_RESULT_CHARS)})
