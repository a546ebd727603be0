#!/bin/bash
# A single-node Slurm 22.05 cluster (Debian 12 packages: tests/slurm/install.sh) on localhost,
# for tests/test_slurm.py: munged, MariaDB + slurmdbd (so `sacct`, which the Snakemake slurm
# executor plugin polls, works), slurmctld and slurmd. Run as root; stop it with teardown.sh.
#
#   BASE      where config, state, logs and the database go (default /tmp/larc-slurm)
#   PARTITION the one partition, the default (default: ci)
#
# Clients find the config through /etc/slurm/slurm.conf (a symlink to $BASE/etc/slurm.conf):
# snakemake-executor-plugin-slurm-jobstep strips every SLURM_* variable (SLURM_CONF included)
# before the inner `srun`, which then finds no config without it.
set -euo pipefail
# On any failure, say where and show the daemons' logs (the test prints them).
trap 'echo "[setup] failed at line $LINENO" >&2; tail -n 20 "$BASE"/log/*.log "$BASE"/mysql-run/*.err >&2 2>/dev/null' ERR
BASE=${BASE:-/tmp/larc-slurm}   # must be reachable by the mysql user (not under a 0700 folder)
MYSQL_PORT=${MYSQL_PORT:-3307}   # not 3306: a distro mariadb/mysql service may already listen there
PARTITION=${PARTITION:-ci}
NODE_CPUS=${NODE_CPUS:-}        # CPUs the node offers (default: its real topology); more lets a
                                # test's small jobs run side by side on a 2-core machine

t0=$(date +%s.%N); tl=$t0
step() { local now; now=$(date +%s.%N); awk -v s="$1" -v a="$tl" -v b="$now" -v c="$t0" 'BEGIN{printf "[setup] %-28s %6.2fs (total %6.2fs)\n", s, b-a, b-c}'; tl=$now; }
wait_for() { # wait_for SECONDS CMD...
  local n=$(( $1 * 5 )); shift
  for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "[setup] timed out waiting for: $*" >&2; return 1
}


mkdir -p "$BASE"/{etc,state/ctld,state/d,log,run}

# ---- munge ---------------------------------------------------------------------------------
[ -s /etc/munge/munge.key ] || { mungekey -c -k /etc/munge/munge.key; chown munge:munge /etc/munge/munge.key; chmod 600 /etc/munge/munge.key; }
mkdir -p /run/munge && chown munge:munge /run/munge && chmod 755 /run/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  runuser -u munge -- /usr/sbin/munged
  wait_for 10 sh -c 'munge -n | unmunge'
fi
step "munged"

# ---- slurm.conf ----------------------------------------------------------------------------
H=$(hostname -s)
# slurmd -C prints the node's real topology; keep it, lower RealMemory to 90 % (a node whose
# RealMemory exceeds what slurmd finds gets drained as "Low RealMemory").
NODE=$(slurmd -C | head -1 | sed -E 's/^NodeName=\S+ //; s/ RealMemory=[0-9]+//')
[ -n "$NODE_CPUS" ] && NODE="CPUs=$NODE_CPUS"
MEM=$(( $(slurmd -C | head -1 | sed -E 's/.*RealMemory=([0-9]+).*/\1/') * 9 / 10 ))
cat > "$BASE/etc/slurm.conf" <<EOF
ClusterName=ci
SlurmctldHost=$H(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
MailProg=/bin/true
StateSaveLocation=$BASE/state/ctld
SlurmdSpoolDir=$BASE/state/d
SlurmctldPidFile=$BASE/run/slurmctld.pid
SlurmdPidFile=$BASE/run/slurmd.pid
SlurmctldLogFile=$BASE/log/slurmctld.log
SlurmdLogFile=$BASE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
ReturnToService=2
MinJobAge=300
SlurmdParameters=config_overrides
JobCompType=jobcomp/filetxt
JobCompLoc=$BASE/log/jobcomp.txt
EOF
cat >> "$BASE/etc/slurm.conf" <<EOF
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=6819
AccountingStoreFlags=job_comment
EOF
cat >> "$BASE/etc/slurm.conf" <<EOF
NodeName=$H NodeAddr=127.0.0.1 $NODE RealMemory=$MEM State=UNKNOWN
PartitionName=$PARTITION Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
mkdir -p /etc/slurm
ln -sfn "$BASE/etc/slurm.conf" /etc/slurm/slurm.conf
export SLURM_CONF=$BASE/etc/slurm.conf   # daemons: slurmdbd looks for slurmdbd.conf next to it
step "slurm.conf"

# ---- MariaDB + slurmdbd --------------------------------------------------------------------
M=$BASE/mysql; MR=$BASE/mysql-run
mkdir -p "$M" "$MR"; chown mysql:mysql "$M" "$MR"
if [ ! -d "$M/mysql" ]; then
  mariadb-install-db --user=mysql --datadir="$M" --auth-root-authentication-method=socket \
    --skip-test-db >"$BASE/log/mariadb-install-db.log" 2>&1
fi
setsid /usr/sbin/mariadbd --no-defaults --user=mysql --datadir="$M" \
  --socket="$MR/mysqld.sock" --pid-file="$MR/mysqld.pid" --log-error="$MR/mariadb.err" \
  --bind-address=127.0.0.1 --port="$MYSQL_PORT" --skip-name-resolve \
  --innodb-buffer-pool-size=64M --innodb-lock-wait-timeout=900 </dev/null >/dev/null 2>&1 &
wait_for 60 mariadb-admin --socket="$MR/mysqld.sock" ping
mariadb --socket="$MR/mysqld.sock" -e "CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurmpw'; GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';"
step "mariadbd"
# slurmdbd reads slurmdbd.conf from the directory of SLURM_CONF (must be mode 600, owned by SlurmUser)
cat > "$BASE/etc/slurmdbd.conf" <<EOF
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=6819
SlurmUser=root
LogFile=$BASE/log/slurmdbd.log
PidFile=$BASE/run/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$MYSQL_PORT
StorageUser=slurm
StoragePass=slurmpw
StorageLoc=slurm_acct_db
EOF
chmod 600 "$BASE/etc/slurmdbd.conf"
slurmdbd
wait_for 60 sacctmgr -n show cluster
step "slurmdbd"

# ---- slurmctld + slurmd --------------------------------------------------------------------
slurmctld
wait_for 60 scontrol ping
step "slurmctld"
slurmd
wait_for 60 sh -c 'sinfo -h -o %t | grep -qx idle'
step "slurmd (node idle)"

# The cluster (and root's association under account root) is registered automatically by
# slurmctld; the plugin's account guess/validation therefore finds "root".
wait_for 30 sh -c 'sacctmgr -n -P show assoc format=cluster,account,user | grep -q "^ci|root|root$"'
step "association ready"

if [ "${SMOKE:-1}" = 1 ]; then
  J=$(sbatch --parsable -o /dev/null --wrap 'hostname')
  wait_for 60 sh -c "! squeue -h -j $J | grep -q ."
  scontrol show job "$J" | grep -q 'JobState=COMPLETED'
  wait_for 30 sh -c "sacct -n -X -j $J -o State | grep -q COMPLETED"
  step "smoke job $J"
fi
sinfo
