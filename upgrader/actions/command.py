"""``action: command``: run a release hook or an operator's script, never through a shell.

Parameters (DESIGN §5): ``run`` (argv, with placeholders), ``cwd`` (default ``{project}``),
``timeout`` (seconds), ``env`` (over upgrader's own environment). Standard input is closed, so a
script that prompts fails its step instead of hanging cron. Each output line goes to the journal;
a non-zero exit fails the step with the last lines of output in the error. As root, the program
must be root's and in root's folders before it runs (``upgrader.trust``, DESIGN §15); a hook under
``{release}`` is checked here, once its path is known.
"""

from __future__ import annotations

from upgrader import trust
from upgrader.actions.base import Context, register
from upgrader.errors import ActionError
from upgrader.runtime import process

TAIL_LINES = 10


@register("command")
def command(context: Context) -> None:
    argv = [context.expand(argument) for argument in context.params["run"]]
    cwd = context.expand(context.params.get("cwd", "{project}"))
    env = {key: context.expand(value) for key, value in context.params.get("env", {}).items()}
    timeout = context.params.get("timeout")
    # The file the child would run, found as it would find it; a refusal is not retried.
    trust.check_program(argv[0], f"program of step {context.step}", cwd=cwd, env=env)
    result = process.run(
        argv,
        cwd=cwd,
        env=env,
        timeout=timeout,
        on_line=context.output,
    )
    if result.returncode == 0:
        return
    tail = "\n".join(result.tail(TAIL_LINES))
    if result.timed_out:
        reason = f"{argv[0]} timed out after {timeout:g} s and was killed"
    elif result.returncode < 0:
        reason = f"{argv[0]} was killed by signal {-result.returncode}"
    else:
        reason = f"{argv[0]} exited with status {result.returncode}"
    raise ActionError(reason + (f"; last output:\n{tail}" if tail else ""))
