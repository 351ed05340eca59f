#!/usr/bin/env bash
# Two "hosts" on one machine, to prove the multi-node path (TCP between separate network
# stacks, a remote Open MPI daemon) and not only shared memory. Needs root (ip netns).
#
#   tools/distributed/two_hosts.sh build/release/tools/cake run kmeans --data X.npy --out runs/km2 ...
#
# Two network namespaces, cake_dist_a (10.77.0.1) and cake_dist_b (10.77.0.2), joined by a veth
# pair created inside them, so that no traffic touches the machine's own interfaces. mpirun
# runs in A with a hostfile naming both addresses, one slot each; Open MPI starts B's daemon
# through `ip netns exec` (its plm_rsh_agent, in place of ssh), and both the daemons and the
# ranks talk TCP over 10.77.0.0/24 only. The namespaces are removed on exit.
set -euo pipefail
[[ $# -ge 1 ]] || { echo "usage: $0 PROGRAM [ARGS...]" >&2; exit 2; }
A=cake_dist_a B=cake_dist_b
remove_namespaces() { ip netns del "$A" 2>/dev/null || true; ip netns del "$B" 2>/dev/null || true; }
remove_namespaces  # left over by a killed run
work=$(mktemp -d)
trap 'remove_namespaces; rm -rf "$work"' EXIT
ip netns add "$A"
ip netns add "$B"
ip link add veth_cake_a netns "$A" type veth peer name veth_cake_b netns "$B"
ip -n "$A" addr add 10.77.0.1/24 dev veth_cake_a
ip -n "$B" addr add 10.77.0.2/24 dev veth_cake_b
for ns in "$A" "$B"; do ip -n "$ns" link set lo up; done
ip -n "$A" link set veth_cake_a up
ip -n "$B" link set veth_cake_b up

# The "ssh" to each host: a shell in that host's namespace.
cat > "$work/netns_rsh" <<AGENT
#!/bin/sh
host="\$1"; shift
case "\$host" in
  10.77.0.1) ns=$A ;;
  10.77.0.2) ns=$B ;;
  *) echo "netns_rsh: unknown host \$host" >&2; exit 1 ;;
esac
exec ip netns exec "\$ns" /bin/sh -c "\$*"
AGENT
chmod +x "$work/netns_rsh"
printf '10.77.0.1 slots=1\n10.77.0.2 slots=1\n' > "$work/hosts"

exports=(-x OMP_NUM_THREADS=1 -x PATH)
[[ -n "${LD_LIBRARY_PATH:-}" ]] && exports+=(-x LD_LIBRARY_PATH)
ip netns exec "$A" mpirun --allow-run-as-root --hostfile "$work/hosts" -np 2 \
  --mca plm_rsh_agent "$work/netns_rsh" \
  --mca btl self,tcp --mca btl_tcp_if_include 10.77.0.0/24 --mca oob_tcp_if_include 10.77.0.0/24 \
  "${exports[@]}" "$@"
