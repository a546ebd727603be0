#!/bin/bash
# Stop everything tests/slurm/setup.sh started (by pid file, never by name); PURGE=1 also
# deletes $BASE.
set -uo pipefail
BASE=${BASE:-/tmp/larc-slurm}
export SLURM_CONF=$BASE/etc/slurm.conf

stop_pidfile() { # stop_pidfile FILE [SIGNAL]: TERM, wait up to 15 s, then KILL
  local f=$1 pid
  [ -s "$f" ] || return 0
  pid=$(cat "$f")
  kill -0 "$pid" 2>/dev/null || { rm -f "$f"; return 0; }
  kill -TERM "$pid"
  for _ in $(seq 75); do kill -0 "$pid" 2>/dev/null || { rm -f "$f"; return 0; }; sleep 0.2; done
  echo "[teardown] $f ($pid) still alive, SIGKILL" >&2; kill -KILL "$pid"; rm -f "$f"
}

t0=$(date +%s.%N); tl=$t0
step() { local now; now=$(date +%s.%N); awk -v s="$1" -v a="$tl" -v b="$now" -v c="$t0" 'BEGIN{printf "[teardown] %-14s %6.2fs (total %6.2fs)\n", s, b-a, b-c}'; tl=$now; }
if [ -f "$SLURM_CONF" ] && [ -s "$BASE/run/slurmctld.pid" ] && kill -0 "$(cat "$BASE/run/slurmctld.pid")" 2>/dev/null; then
  # cancel leftover jobs so nothing keeps running after slurmd is gone
  jobs=$(timeout 10 squeue -h -o %i 2>/dev/null || true)
  [ -n "$jobs" ] && scancel $jobs 2>/dev/null
  step "scancel"
fi
# Each daemon takes about 2 s to exit after TERM: the Slurm daemons stop side by side, then the
# database and munged (which slurmdbd and the daemons use until they exit).
stop_pidfile "$BASE/run/slurmd.pid" & stop_pidfile "$BASE/run/slurmctld.pid" &
stop_pidfile "$BASE/run/slurmdbd.pid" & wait; step "slurm daemons"
if [ -S "$BASE/mysql-run/mysqld.sock" ]; then
  mariadb-admin --socket="$BASE/mysql-run/mysqld.sock" shutdown 2>/dev/null || stop_pidfile "$BASE/mysql-run/mysqld.pid"
fi &
stop_pidfile /run/munge/munged.pid & wait
for _ in $(seq 75); do [ -e "$BASE/mysql-run/mysqld.pid" ] || break; sleep 0.2; done
step "mariadbd, munged"
# remove our config symlink (only if it is ours)
[ "$(readlink /etc/slurm/slurm.conf 2>/dev/null)" = "$BASE/etc/slurm.conf" ] && rm -f /etc/slurm/slurm.conf
# configless slurmd (--conf-server) leaves /run/slurm/conf -> $BASE/state/d/conf-cache
[ "$(readlink /run/slurm/conf 2>/dev/null)" = "$BASE/state/d/conf-cache" ] && rm -f /run/slurm/conf
[ "${PURGE:-0}" = 1 ] && rm -rf "$BASE"
echo "[teardown] done"
