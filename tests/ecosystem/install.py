#!/usr/bin/env python3
"""`meson install --destdir` puts vmm, its profiles, its man page and its
bash completion in place, and the installed vmm finds its profiles with
no MEMVIRT_PROFILES; --version says the project's version."""
import glob, os, re, subprocess, sys, tempfile

build, version = sys.argv[1], sys.argv[2]
failed = 0


def check(ok, what):
    global failed
    print(("ok    " if ok else "FAIL  ") + what)
    failed += 0 if ok else 1


env = {k: v for k, v in os.environ.items() if k not in ("MEMVIRT_PROFILES", "DESTDIR")}
with tempfile.TemporaryDirectory() as dest:
    r = subprocess.run(["meson", "install", "-C", build, "--no-rebuild", "--quiet",
                        "--destdir", dest], capture_output=True, text=True, env=env)
    check(r.returncode == 0, f"meson install --destdir exits 0 ({r.stderr.strip()[-300:]})")
    vmms = glob.glob(os.path.join(dest, "**", "bin", "vmm"), recursive=True)
    check(len(vmms) == 1, f"one vmm installed ({vmms})")
    if not vmms:
        sys.exit(1)
    vmm = vmms[0]
    prefix = os.path.dirname(os.path.dirname(vmm))
    profiles = os.path.join(prefix, "share", "memvirt", "profiles")
    check(os.path.isfile(os.path.join(profiles, "skylake.profile")),
          "profiles installed in DATADIR/memvirt/profiles")
    check(not os.path.exists(os.path.join(profiles, "README.md")), "the profiles' README is not")

    r = subprocess.run([vmm, "--version"], capture_output=True, text=True, env=env)
    first = r.stdout.splitlines()[0] if r.stdout else ""
    check(r.returncode == 0 and first == f"vmm (memvirt) {version}",
          f"--version: 'vmm (memvirt) {version}' ({first!r})")
    check(all(re.match(r"^git [0-9a-zA-Z._+-]+$", l) for l in r.stdout.splitlines()[1:]),
          "--version: a git describe line at most")

    # From / so that nothing relative to the source or build tree can help.
    r = subprocess.run([vmm, "--list"], capture_output=True, text=True, env=env, cwd="/")
    check(f"CPU profiles ({profiles}):" in r.stdout and "  skylake " in r.stdout,
          "the installed vmm lists its installed profiles")
    r = subprocess.run([vmm, "--cpu=phenom2-n620", "--mmu=ept", "--workload=forkwait",
                        "--param", "iters=5", "--quiet"], capture_output=True, text=True,
                       env=env, cwd="/")
    check(r.returncode == 0 and ",phenom2-n620," in r.stdout,
          f"the installed vmm runs on an installed profile ({r.stderr.strip()})")

    man = os.path.join(prefix, "share", "man", "man1", "vmm.1")
    if subprocess.run(["sh", "-c", "command -v help2man"], capture_output=True).returncode == 0:
        text = open(man).read() if os.path.isfile(man) else ""
        check(".TH VMM" in text and "list\\-cells" in text,
              "the man page is installed, generated from --help")
    else:
        print("SKIP  man page: help2man is not installed (scripts/setup.sh installs it)")

    comp = glob.glob(os.path.join(dest, "**", "bash-completion", "completions", "vmm"),
                     recursive=True)
    check(len(comp) == 1, f"the bash completion is installed ({comp})")
    if comp:
        def complete(*words):
            script = (f"source {comp[0]}; COMP_WORDS=({' '.join(words)}); "
                      f"COMP_CWORD={len(words) - 1}; _vmm; printf '%s\\n' \"${{COMPREPLY[@]}}\"")
            return subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                                  env=dict(env, PATH=os.path.dirname(vmm) + ":" + env["PATH"]),
                                  cwd="/").stdout.split()
        check(complete("vmm", "--mmu", "=", "s") == ["shadow"], "completes --mmu=s to shadow")
        check(complete("vmm", "--mmu", "=", "native,e") == ["native,ept"],
              "completes the last item of a comma list")
        check("phenom2-n620" in complete("vmm", "--cpu", "=", "p"), "completes installed profiles")
        check("iters=" in complete("vmm", "--param", "i"), "completes --param keys")
        check("--list-cells" in complete("vmm", "--list-c"), "completes options from --help")
print("all checks passed" if not failed else f"{failed} checks failed")
sys.exit(1 if failed else 0)
