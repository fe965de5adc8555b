"""Runs one piece of untrusted Python inside the bubblewrap sandbox (see local-sandbox.ts).

Protocol: `runner.py cold RUN_ID` runs one job at once; `runner.py pool ROOM` first imports numpy,
pandas and matplotlib (pyplot, Agg) and warms their common paths, so that a pooled sandbox answers in
milliseconds, and writes the run id of its job over ROOM (blanks) once it has one; `runner.py bare
ROOM` is started ahead the same way but imports nothing (for code that needs none of those libraries). Either way the runner then writes one byte, "R", to fd 3 (the host's sign that Python
started) and reads its job from stdin until EOF: one line of JSON (limits, paths, input file names),
then the code. It writes one JSON file (results, error, failure hint, usage) to job["resultPath"]
and leaves with os._exit(0), because a normal interpreter shutdown costs about 100 ms. Everything in
this process, the result file included, is reachable by the user's code: the host treats the result
as untrusted input.
"""

import ast
import builtins
import errno
import gc
import io
import json
import linecache
import math
import os
import resource
import sys
import time
import traceback
import types

CODE_FILENAME = "<code>"
RUNNER_FILENAME = os.path.abspath(__file__)

MADV_HUGEPAGE = 14
MADV_COLLAPSE = 25

# errno values that mean a limit was hit rather than a bug in the code.
RESOURCE_ERRNOS = {errno.EFBIG, errno.ENOSPC, errno.EDQUOT, errno.EMFILE, errno.ENFILE}


def set_limits(limits, cpu_used):
    def lower(which, soft, hard):
        # An unprivileged process can only lower a hard limit, so never ask for more than it has.
        _, current_hard = resource.getrlimit(which)
        if current_hard != resource.RLIM_INFINITY:
            soft = min(soft, current_hard)
            hard = min(hard, current_hard)
        resource.setrlimit(which, (soft, hard))

    lower(resource.RLIMIT_AS, limits["memoryBytes"], limits["memoryBytes"])
    # RLIMIT_CPU counts the whole process life, so a pooled runner's imports are added on top. The
    # soft limit sends SIGXCPU (which kills, since nothing handles it); the hard one, SIGKILL.
    cpu = limits["cpuSeconds"] + math.ceil(cpu_used)
    lower(resource.RLIMIT_CPU, cpu, cpu + 5)
    lower(resource.RLIMIT_NPROC, limits["maxProcesses"], limits["maxProcesses"])
    lower(resource.RLIMIT_FSIZE, limits["maxFileBytes"], limits["maxFileBytes"])
    lower(resource.RLIMIT_NOFILE, limits["maxOpenFiles"], limits["maxOpenFiles"])
    # A core dump would land in the workspace and be collected as a written file.
    lower(resource.RLIMIT_CORE, 0, 0)


class Figures:
    """Turns pyplot figures into PNG results, like a notebook's inline backend."""

    def __init__(self):
        # Set from the job; a pooled runner patches pyplot before it has one.
        self.directory = None
        self.max_count = 0
        self.results = []
        self.count = 0
        self.original_savefig = None

    def save(self, figure, is_main_result=False):
        """Saves one figure as a PNG result; returns its result, or None past the limit."""
        if self.directory is None or self.count >= self.max_count or self.original_savefig is None:
            return None
        self.count += 1
        name = "figure-%d.png" % self.count
        self.original_savefig(figure, os.path.join(self.directory, name), format="png", bbox_inches="tight")
        figure._sandbox_saved = True
        result = {"png": name, "isMainResult": is_main_result}
        self.results.append(result)
        return result

    def flush(self, only_unsaved):
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is None:
            return
        for number in pyplot.get_fignums():
            figure = pyplot.figure(number)
            # A figure without axes is what `plt.figure()` alone leaves behind: nothing to show.
            if figure.axes and not (only_unsaved and getattr(figure, "_sandbox_saved", False)):
                self.save(figure)
            pyplot.close(figure)

    def patch(self, pyplot):
        from matplotlib.figure import Figure

        figures = self
        original_savefig = Figure.savefig
        self.original_savefig = original_savefig

        def savefig(self, *args, **kwargs):
            self._sandbox_saved = True
            return original_savefig(self, *args, **kwargs)

        def show(*args, **kwargs):
            figures.flush(only_unsaved=True)

        savefig.__doc__ = original_savefig.__doc__
        show.__doc__ = pyplot.show.__doc__
        Figure.savefig = savefig
        pyplot.show = show


class PyplotHook:
    """Patches matplotlib.pyplot when the code imports it.

    Importing pyplot costs about 0.4 s, so the runner does not import it for code that never plots.
    """

    def __init__(self, figures):
        self.figures = figures

    def find_spec(self, name, path, target=None):
        if name != "matplotlib.pyplot":
            return None
        spec = None
        for finder in sys.meta_path:
            if finder is not self and hasattr(finder, "find_spec"):
                spec = finder.find_spec(name, path, target)
                if spec is not None:
                    break
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        sys.meta_path.remove(self)
        original_exec_module = spec.loader.exec_module
        figures = self.figures

        def exec_module(module):
            original_exec_module(module)
            figures.patch(module)

        spec.loader.exec_module = exec_module
        return spec


def strip_runner_frames(exception, seen=None):
    """Keeps only the code's frames (and the library frames it called) in a traceback."""
    seen = seen if seen is not None else set()
    if exception is None or id(exception) in seen:
        return
    seen.add(id(exception))
    tb = exception.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != CODE_FILENAME:
        tb = tb.tb_next
    exception.__traceback__ = tb
    strip_runner_frames(exception.__cause__, seen)
    strip_runner_frames(exception.__context__, seen)


def describe_error(exception, limit):
    strip_runner_frames(exception)
    try:
        value = str(exception)
    except Exception:
        value = "<unprintable %s>" % type(exception).__name__
    try:
        text = "".join(traceback.format_exception(type(exception), exception, exception.__traceback__))
    except Exception:
        text = "%s: %s\n" % (type(exception).__name__, value)
    return {"name": type(exception).__name__, "value": truncate(value, limit), "traceback": truncate(text, limit)}


def is_resource_error(exception):
    seen = set()
    while exception is not None and id(exception) not in seen:
        seen.add(id(exception))
        if isinstance(exception, MemoryError):
            return True
        if isinstance(exception, OSError) and exception.errno in RESOURCE_ERRNOS:
            return True
        exception = exception.__cause__ or exception.__context__
    return False


def truncate(text, limit):
    return text if len(text) <= limit else text[:limit] + "\n[truncated]"


def describe_value(value, figures, limit):
    """The trailing expression's value as a result: repr, plus HTML for pandas and rich objects."""
    result = {"isMainResult": True, "text": truncate(repr(value), limit)}
    figure_module = sys.modules.get("matplotlib.figure")
    if figure_module is not None and isinstance(value, figure_module.Figure):
        saved = figures.save(value, is_main_result=True)
        if saved is not None:
            saved["text"] = result["text"]
            return None
    html = None
    pandas = sys.modules.get("pandas")
    if pandas is not None and isinstance(value, (pandas.DataFrame, pandas.Series)):
        frame = value.to_frame() if isinstance(value, pandas.Series) else value
        html = frame.to_html(
            max_rows=pandas.get_option("display.max_rows"), max_cols=pandas.get_option("display.max_columns")
        )
    elif hasattr(value, "_repr_html_") and not isinstance(value, type):
        html = value._repr_html_()
    # Cut HTML would be broken markup: past the limit, the text has to do.
    if isinstance(html, str) and len(html) <= limit:
        result["html"] = html
    if hasattr(value, "_repr_markdown_") and not isinstance(value, type):
        markdown = value._repr_markdown_()
        if isinstance(markdown, str) and len(markdown) <= limit:
            result["markdown"] = markdown
    return result


def run_code(source, namespace):
    """Runs the code; returns the trailing expression's value, or None when there is none."""
    tree = ast.parse(source, CODE_FILENAME, "exec")
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = tree.body.pop()
    exec(compile(tree, CODE_FILENAME, "exec"), namespace)
    if last is None:
        return None
    return eval(compile(ast.Expression(last.value), CODE_FILENAME, "eval"), namespace)


def cpu_seconds():
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def usage(cpu_before):
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    # ru_maxrss is in KiB; the children's figure is the largest single descendant, so take the max.
    return {
        "cpuMs": max(0, round((cpu_seconds() - cpu_before) * 1000)),
        "peakMemoryBytes": max(own.ru_maxrss, children.ru_maxrss) * 1024,
    }


def preload(figures):
    """Imports what analysis code uses and runs it once, so that a pooled job pays for neither."""
    import numpy
    import pandas
    import matplotlib.pyplot as pyplot

    figures.patch(pyplot)
    # First calls import more modules (pandas' plotting backend, PIL's PNG writer, the HTML
    # formatter) and load fonts: do them now, on throwaway data.
    frame = pandas.read_csv(io.StringIO("region,amount\nnorth,1.5\nsouth,2\nnorth,3\n"))
    totals = frame.groupby("region")["amount"].agg(["sum", "mean"])
    totals.to_html()
    repr(totals)
    frame.describe()
    numpy.linalg.norm(numpy.arange(4.0))
    totals["sum"].plot.bar(title="warm-up")
    pyplot.figure()
    pyplot.plot([1, 2, 3], [2, 1, 3], label="warm-up")
    pyplot.legend()
    for number in pyplot.get_fignums():
        figures.original_savefig(pyplot.figure(number), io.BytesIO(), format="png", bbox_inches="tight")
    pyplot.close("all")
    # Everything imported so far lives as long as the process: keep the collector off it.
    gc.collect()
    gc.freeze()
    collapse_into_huge_pages()


def collapse_into_huge_pages():
    """Moves the heap the imports built into 2 MiB pages.

    A pooled job's last step is the kernel tearing down this process, and that costs per page mapped:
    about 12 ms for the 90 MB that pandas and matplotlib leave here, 7 ms once most of it is in huge
    pages. MADV_COLLAPSE (Linux 6.1) does the move now, while no job waits; older kernels refuse it
    and nothing changes.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        with open("/proc/self/maps") as maps:
            lines = maps.read().splitlines()
    except OSError:
        return
    huge = 2 * 1024 * 1024
    for line in lines:
        fields = line.split()
        # Private writable memory not backed by a file: the heap and the allocators' arenas.
        if fields[1] != "rw-p" or (len(fields) > 5 and fields[5] != "[heap]"):
            continue
        start, end = (int(bound, 16) for bound in fields[0].split("-"))
        start = (start + huge - 1) // huge * huge
        end = end // huge * huge
        if end - start >= huge and libc.madvise(start, end - start, MADV_HUGEPAGE) == 0:
            libc.madvise(start, end - start, MADV_COLLAPSE)


def show_run_id(run_id):
    """Writes the job's run id into this process's command line, in the room the pool left for it.

    Operators (and tests) find a run's processes with `pgrep -f RUN_ID`; a pooled runner was started
    before it had a run, with a blank last argument to be overwritten now, as setproctitle does.
    """
    try:
        import ctypes

        with open("/proc/self/stat", "rb") as handle:
            stat = handle.read()
        fields = stat[stat.rindex(b")") + 2 :].split()
        # Fields 48 and 49 of stat: where the kernel reads /proc/self/cmdline from.
        arg_start, arg_end = int(fields[45]), int(fields[46])
        with open("/proc/self/cmdline", "rb") as handle:
            cmdline = handle.read()
        if len(cmdline) != arg_end - arg_start or not cmdline.endswith(b"\0"):
            return
        room_start = cmdline.rindex(b"\0", 0, len(cmdline) - 1) + 1
        # The last byte stays NUL, or the kernel would read on into the environment.
        room = len(cmdline) - 1 - room_start
        title = run_id.encode("utf-8", "replace")[:room].ljust(room, b"\0")
        ctypes.memmove(arg_start + room_start, title, room)
    except (OSError, ValueError, IndexError):
        pass


def read_job():
    data = sys.stdin.buffer.read()
    header, _, code = data.partition(b"\n")
    return json.loads(header), code.decode("utf-8", "replace")


MAX_MESSAGES = 200
MAX_MESSAGE_CHARS = 2000


def make_display_module(results, messages, limit):
    """The `ml` module the code may import: typed messages for the execution's log, and rich output.

    ml.log/info/success/warn/danger/error(message) add a message at a level (ml.error(exc) with the
    exception's traceback); ml.wait(ms) sleeps inside the sandbox, counting towards the step's time
    limit; ml.json(value) and ml.markdown(text) add a result, as a notebook's display() would.
    """
    module = types.ModuleType("ml")

    def message_at(level):
        def send(message, *args):
            if isinstance(message, BaseException):
                lines = traceback.format_exception(type(message), message, message.__traceback__)
                text = "".join(lines).rstrip()
            else:
                text = " ".join(str(part) for part in (message,) + args)
            if len(messages) < MAX_MESSAGES:
                messages.append({"level": level, "message": truncate(text, MAX_MESSAGE_CHARS)})

        send.__name__ = level
        return send

    module.log = message_at("debug")
    module.info = message_at("info")
    module.warn = message_at("warning")
    module.error = message_at("error")
    module.success = message_at("success")
    module.danger = message_at("danger")

    def wait(ms):
        seconds = float(ms) / 1000
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError("ml.wait: a number of milliseconds, 0 or more")
        time.sleep(seconds)

    module.wait = wait

    def show_json(value):
        text = json.dumps(value, default=str)
        if len(text) > limit:
            raise ValueError("ml.json: the value is too large to show; write it to a file instead")
        results.append({"json": json.loads(text), "isMainResult": False})

    def show_markdown(text):
        results.append({"markdown": truncate(str(text), limit), "isMainResult": False})

    module.json = show_json
    module.markdown = show_markdown
    return module


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "cold"
    main_pid = os.getpid()
    results = []
    figures = Figures()
    if mode == "pool":
        preload(figures)
    else:
        # Importing pyplot costs about 0.4 s, so a cold runner patches it only if the code imports it.
        sys.meta_path.insert(0, PyplotHook(figures))

    # Tells the host that Python started, so a failure from here on is the code's, not bwrap's.
    os.write(3, b"R")
    job, source = read_job()
    if mode in ("pool", "bare"):
        show_run_id(str(job.get("runId", "")))
    # A cold run is charged for its whole process; a started-ahead one not for what it did before it.
    cpu_before = cpu_seconds() if mode in ("pool", "bare") else 0.0
    # The code must not find the host's pipes (or the job) where it looks for its input.
    os.close(3)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    set_limits(job["limits"], cpu_before)
    limit = job["maxReprChars"]
    figures.directory = job["figuresDir"]
    figures.max_count = job["maxFigures"]
    figures.results = results
    messages = []
    sys.modules["ml"] = make_display_module(results, messages, limit)

    sys.argv = [""]
    # Like a notebook: the workspace, not the runner's folder, is where `import` looks first.
    sys.path[0] = ""
    linecache.cache[CODE_FILENAME] = (len(source), None, source.splitlines(True), CODE_FILENAME)
    module = types.ModuleType("__main__")
    module.__builtins__ = builtins
    sys.modules["__main__"] = module

    error = None
    failure = None
    main_result = None
    try:
        value = run_code(source, module.__dict__)
        if value is not None:
            main_result = describe_value(value, figures, limit)
    except SystemExit as exit_:
        if exit_.code not in (None, 0):
            error = describe_error(exit_, limit)
            failure = "CODE_ERROR"
    except BaseException as exception:
        if os.getpid() == main_pid and is_resource_error(exception):
            # Free what the code holds so that writing the result does not fail as well.
            module.__dict__.clear()
            failure = "RESOURCE_EXHAUSTED"
        else:
            failure = "CODE_ERROR"
        error = describe_error(exception, limit)

    if os.getpid() != main_pid:
        # A child the code forked fell through to here (a fork bomb does): only the runner reports.
        flush_streams()
        os._exit(1 if failure else 0)

    if main_result is not None:
        results.append(main_result)
    try:
        figures.flush(only_unsaved=True)
    except Exception as exception:
        sys.stderr.write("Could not save the open figures: %r\n" % (exception,))

    flush_streams()
    outcome = {"results": results, "error": error, "failure": failure, "messages": messages}
    outcome.update(usage(cpu_before))
    with open(job["resultPath"], "w", encoding="utf-8") as handle:
        json.dump(outcome, handle, default=str)


def flush_streams():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def close_inherited_fds():
    """Closes what the worker leaked: bwrap hands on every descriptor not marked close-on-exec.

    Only stdin, stdout, stderr and the control pipe (fd 3) are meant for the sandbox.
    """
    os.closerange(4, os.sysconf("SC_OPEN_MAX"))


if __name__ == "__main__":
    try:
        close_inherited_fds()
        main()
    except BaseException:
        traceback.print_exc()
        os._exit(70)
    os._exit(0)
