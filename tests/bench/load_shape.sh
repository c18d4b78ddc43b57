# Sourced by the load scripts that measure a server at several loads (tls_load.sh,
# transport_floor.sh): what one load means for mixc, and the server's counters from /proc.
#   LOADS entries: "closed" (mixc closed loop, 8 in flight) or an open-loop rate in calls/s, sent
#   for DURATION seconds (default 4).

# load_shape LOAD CALLS: sets N (the calls to send) and PACE (mixc's pacing flags) for LOAD.
load_shape() {
  if [ "$1" = closed ]; then
    N=$2
    PACE=()
  else
    N=$(($1 * ${DURATION:-4}))
    PACE=(--rate "$1")
  fi
}

# load_label LOAD: how a table row names it.
load_label() { if [ "$1" = closed ]; then echo "closed, 8 in flight"; else echo "$1/s"; fi; }

# cpu_ticks PID: the process' utime + stime, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# switches PID: context switches of the threads alive now (one may exit while it is read).
switches() { { cat /proc/"$1"/task/*/status 2>/dev/null || true; } | awk '/ctxt_switches/ {s += $2} END {print s}'; }
