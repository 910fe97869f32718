#!/usr/bin/env bash
# Makes sure NGINX (with auth_request) and Caddy (with forward_auth) are
# installed from Debian's packages, as the forward authentication tests
# need: they run each binary themselves, on loopback ports, with a
# configuration, a PID file and logs of their own in a temporary directory.
# The packages' system services are not wanted: they are kept from starting
# while installing (policy-rc.d) and stopped and disabled if they run. Safe
# to run again; does nothing when both are already there.
set -euo pipefail

missing=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v caddy >/dev/null 2>&1 || missing+=(caddy)

if [ ${#missing[@]} -gt 0 ]; then
  echo "proxies.sh: installing ${missing[*]} from Debian's packages" >&2
  # No service may start while the packages install: a system NGINX or
  # Caddy would hold port 80 (or 2019) for good.
  policy=/usr/sbin/policy-rc.d
  added=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    added=yes
  fi
  trap '[ -n "$added" ] && rm -f "$policy"' EXIT
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends nginx caddy >/dev/null
fi

# Whatever started them (an older install, a machine with systemd), the
# system services stay off.
for svc in nginx caddy; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl disable --now "$svc" >/dev/null 2>&1 || true
  fi
  if [ -x "/etc/init.d/$svc" ] && "/etc/init.d/$svc" status >/dev/null 2>&1; then
    "/etc/init.d/$svc" stop >/dev/null 2>&1 || true
  fi
done

nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
"$nginx_bin" -V 2>&1 | grep -q -- --with-http_auth_request_module ||
  { echo "proxies.sh: $nginx_bin has no auth_request module" >&2; exit 1; }
echo "proxies.sh: $("$nginx_bin" -v 2>&1) and caddy $(caddy version | cut -d' ' -f1) are installed" >&2
