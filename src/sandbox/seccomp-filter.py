"""Writes the sandbox's seccomp filter, as raw BPF for `bwrap --seccomp FD`, to the file named in argv[1].

Run by the host (local-seccomp.ts) with Debian's python3 and its python3-seccomp module; never inside
the sandbox. Exit code 3 means the module is missing, which the host reports as a warning.

The filter allows everything except system calls that untrusted analysis code has no use for and
that widen the kernel surface an exploit can reach. Namespaces and capabilities already keep the
code in; this is the layer below them.
"""

import errno
import os
import socket
import sys

try:
    import seccomp
except ImportError:
    sys.stderr.write("python3-seccomp is not installed\n")
    sys.exit(3)

# Denied with EPERM. Names the installed libseccomp does not know are skipped (they cannot be
# called through the native ABI that the filter admits anyway).
DENIED = [
    # Inspecting or steering other processes.
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    # Kernel programs, async I/O rings and perf: the usual local privilege escalation routes.
    "bpf",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "perf_event_open",
    "userfaultfd",
    # Mounts, old and new API.
    "mount",
    "umount2",
    "pivot_root",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "move_mount",
    "open_tree",
    "mount_setattr",
    # File handles bypass path-based confinement.
    "open_by_handle_at",
    "name_to_handle_at",
    # The kernel keyring.
    "keyctl",
    "add_key",
    "request_key",
    # Kernel code.
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
]


def build():
    # Syscalls of another ABI (i386, x32) get the default bad-arch action: the process is killed,
    # so the rules below cannot be sidestepped through int 0x80.
    rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for name in DENIED:
        try:
            rules.add_rule(seccomp.ERRNO(errno.EPERM), name)
        except (RuntimeError, ValueError):
            pass
    # Only Unix sockets (multiprocessing, some libraries' self-pipes); EAFNOSUPPORT reads as
    # "no network here" to the code, which is the truth.
    rules.add_rule(seccomp.ERRNO(errno.EAFNOSUPPORT), "socket", seccomp.Arg(0, seccomp.NE, socket.AF_UNIX))
    return rules


def main():
    target = sys.argv[1]
    temporary = "%s.%d.tmp" % (target, os.getpid())
    with open(temporary, "wb") as handle:
        build().export_bpf(handle)
    os.chmod(temporary, 0o644)
    os.rename(temporary, target)


if __name__ == "__main__":
    main()
