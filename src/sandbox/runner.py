"""Runs one piece of untrusted Python inside the bubblewrap sandbox (see local-sandbox.ts).

Protocol: argv[1] is a JSON config (limits and paths, never the code); the code arrives on stdin.
The runner writes one JSON file (results, error, failure hint, usage) to config["resultPath"] and
leaves with os._exit(0), because a normal interpreter shutdown costs about 100 ms. Everything in
this process, the result file included, is reachable by the user's code: the host treats the result
as untrusted input.
"""

import ast
import builtins
import errno
import json
import linecache
import os
import resource
import sys
import traceback
import types

CODE_FILENAME = "<code>"
RUNNER_FILENAME = os.path.abspath(__file__)

# errno values that mean a limit was hit rather than a bug in the code.
RESOURCE_ERRNOS = {errno.EFBIG, errno.ENOSPC, errno.EDQUOT, errno.EMFILE, errno.ENFILE}


def set_limits(limits):
    def lower(which, soft, hard):
        # An unprivileged process can only lower a hard limit, so never ask for more than it has.
        _, current_hard = resource.getrlimit(which)
        if current_hard != resource.RLIM_INFINITY:
            soft = min(soft, current_hard)
            hard = min(hard, current_hard)
        resource.setrlimit(which, (soft, hard))

    lower(resource.RLIMIT_AS, limits["memoryBytes"], limits["memoryBytes"])
    # The soft limit sends SIGXCPU (which kills, since nothing handles it); the hard one, SIGKILL.
    lower(resource.RLIMIT_CPU, limits["cpuSeconds"], limits["cpuSeconds"] + 5)
    lower(resource.RLIMIT_NPROC, limits["maxProcesses"], limits["maxProcesses"])
    lower(resource.RLIMIT_FSIZE, limits["maxFileBytes"], limits["maxFileBytes"])
    lower(resource.RLIMIT_NOFILE, limits["maxOpenFiles"], limits["maxOpenFiles"])
    # A core dump would land in the workspace and be collected as a written file.
    lower(resource.RLIMIT_CORE, 0, 0)


class Figures:
    """Turns pyplot figures into PNG results, like a notebook's inline backend."""

    def __init__(self, directory, max_count, results):
        self.directory = directory
        self.max_count = max_count
        self.results = results
        self.count = 0
        self.original_savefig = None

    def save(self, figure, is_main_result=False):
        """Saves one figure as a PNG result; returns its result, or None past the limit."""
        if self.count >= self.max_count or self.original_savefig is None:
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


def usage():
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_seconds = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    # ru_maxrss is in KiB; the children's figure is the largest single descendant, so take the max.
    return {"cpuMs": round(cpu_seconds * 1000), "peakMemoryBytes": max(own.ru_maxrss, children.ru_maxrss) * 1024}


def main():
    config = json.loads(sys.argv[1])
    # Tells the host that Python started, so a failure from here on is the code's, not bwrap's.
    open(config["startedPath"], "wb").close()
    set_limits(config["limits"])
    limit = config["maxReprChars"]

    source = sys.stdin.buffer.read().decode("utf-8", "replace")
    # The code must not find the host's pipe (or the config) where it looks for its input.
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.argv = [""]
    # Like a notebook: the workspace, not the runner's folder, is where `import` looks first.
    sys.path[0] = ""

    results = []
    figures = Figures(config["figuresDir"], config["maxFigures"], results)
    sys.meta_path.insert(0, PyplotHook(figures))
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
        if is_resource_error(exception):
            # Free what the code holds so that writing the result does not fail as well.
            module.__dict__.clear()
            failure = "RESOURCE_EXHAUSTED"
        else:
            failure = "CODE_ERROR"
        error = describe_error(exception, limit)

    if main_result is not None:
        results.append(main_result)
    try:
        figures.flush(only_unsaved=True)
    except Exception as exception:
        sys.stderr.write("Could not save the open figures: %r\n" % (exception,))

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    outcome = {"results": results, "error": error, "failure": failure}
    outcome.update(usage())
    with open(config["resultPath"], "w", encoding="utf-8") as handle:
        json.dump(outcome, handle, default=str)


if __name__ == "__main__":
    try:
        main()
    except BaseException:
        traceback.print_exc()
        os._exit(70)
    os._exit(0)
