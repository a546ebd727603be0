#!/bin/bash
# The Debian packages tests/slurm/setup.sh runs (Slurm 22.05, munge, slurmdbd, MariaDB), as CI
# installs them (.ci/run). --no-install-recommends: 13 packages instead of about 45.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
# No service starts at install (a systemd machine would start munge, MariaDB and Slurm on their
# default ports); setup.sh starts its own.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends slurm-wlm munge slurmdbd mariadb-server >/dev/null
dpkg-query -W -f 'slurm-wlm ${Version}\n' slurm-wlm   # (sbatch --version needs a config)
