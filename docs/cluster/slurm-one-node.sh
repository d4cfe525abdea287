#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, to try the job-array script (and to test it): Debian's slurm-wlm and
# munge, run as root without systemd. Everything Slurm keeps lives in STATE_DIR (its slurm.conf included, found
# through SLURM_CONF), so nothing under /etc is changed and `stop` leaves no trace.
#
#   slurm-one-node.sh install              apt-get install slurm-wlm munge (when missing)
#   slurm-one-node.sh start STATE_DIR      start munged (unless running), slurmctld and slurmd; wait until the node is idle
#   slurm-one-node.sh stop STATE_DIR       cancel jobs, wait for them, shut Slurm down, stop the munged it started
#
# Then: export SLURM_CONF=STATE_DIR/slurm.conf and use sbatch, squeue, scancel as on any cluster.
set -euo pipefail

wait_for() {   # wait_for SECONDS COMMAND...: poll until COMMAND succeeds
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then echo "slurm-one-node: timed out waiting for: $*" >&2; return 1; fi
    sleep 0.2
  done
}

case "${1:-}" in
install)
  if ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
  fi
  ;;
start)
  state="$(realpath -m "${2:?usage: slurm-one-node.sh start STATE_DIR}")"
  mkdir -p "$state/ctld" "$state/slurmd" "$state/log"
  if ! pgrep -x munged >/dev/null; then
    mkdir -p /run/munge && chown munge:munge /run/munge
    [[ -f /etc/munge/munge.key ]] || { mungekey --create --keyfile=/etc/munge/munge.key && chown munge:munge /etc/munge/munge.key; }
    runuser -u munge -- munged
    touch "$state/started-munged"
  fi
  host="$(hostname -s)"
  # The node line as slurmd measures this machine; the controller at 127.0.0.1 in case the hostname does not resolve.
  node="$(slurmd -C | head -1)"
  cat > "$state/slurm.conf" <<CONF
ClusterName=descent
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/slurmd
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobCompType=jobcomp/filetxt
JobCompLoc=$state/log/jobcomp.txt
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF="$state/slurm.conf"
  slurmctld -c
  slurmd
  wait_for 60 bash -c '[[ "$(sinfo -h -o %T 2>/dev/null)" == idle* ]]'
  echo "slurm-one-node: up (SLURM_CONF=$SLURM_CONF)"
  ;;
stop)
  state="$(realpath -m "${2:?usage: slurm-one-node.sh stop STATE_DIR}")"
  export SLURM_CONF="$state/slurm.conf"
  if [[ -f "$SLURM_CONF" ]]; then
    # Jobs first (a shutdown with jobs running leaves slurmstepd behind), then the daemons.
    scancel --full --user="$(id -un)" 2>/dev/null || true
    wait_for 60 bash -c '[[ -z "$(squeue -h 2>/dev/null)" ]]' || true
    scontrol shutdown 2>/dev/null || true
    for pidfile in "$state/slurmctld.pid" "$state/slurmd.pid"; do
      [[ -f "$pidfile" ]] && wait_for 30 bash -c "! kill -0 $(cat "$pidfile") 2>/dev/null" || true
    done
  fi
  if [[ -f "$state/started-munged" && -f /run/munge/munged.pid ]]; then
    kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true
  fi
  rm -rf "$state"
  ;;
*)
  echo "usage: slurm-one-node.sh install | start STATE_DIR | stop STATE_DIR" >&2
  exit 2
  ;;
esac
