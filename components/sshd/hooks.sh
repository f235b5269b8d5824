# shellcheck shell=bash
# sshd drop-in: the host side (see hooks.ts for the variables). Validated with `sshd -T` (sshd's
# config test, as `sshd -t`, printing the effective values) on a temp copy of the whole config,
# reloaded (never restarted) behind the lockout guard, read back with `sshd -T`. Each hook_NAME body
# is one FileHooks step; `# include:` lines take in the helpers.

ct_sshd_config_with() { # $1 = candidate drop-in; prints the path of a full temp config that uses it
  local t; t=$(mktemp -d) || return 1
  mkdir -p "$t/d"
  for f in /etc/ssh/sshd_config.d/*.conf; do [ -e "$f" ] && [ "$f" != "$CT_PATH" ] && cp -a "$f" "$t/d/"; done
  cp "$1" "$t/d/${CT_PATH##*/}"
  sed "s#^[[:space:]]*Include[[:space:]]\+/etc/ssh/sshd_config.d/\*\.conf#Include $t/d/*.conf#I" /etc/ssh/sshd_config >"$t/sshd_config"
  echo "$t"
}

ct_sshd_effective() { # $1 = config file; prints "ct:keyword=value" for wanted keywords, fails (1) naming shadowing files, or (2) with sshd's error
  # sshd -T is sshd's config test (what sshd -t checks, and it fails the same way) that also prints
  # the effective values: one run does both. Its output is read once, without a process per keyword.
  local out bad=0 kw want got files k v
  local -A eff=()
  out=$(sshd -T -f "$1" 2>&1) || { echo "$out"; return 2; }
  while read -r k v; do
    k=${k,,}
    [ -n "$k" ] && [ -z "${eff[$k]+set}" ] && eff[$k]=$v
  done <<<"$out"
  IFS=';' read -ra pairs <<<"$CT_SSHD_WANT"
  for p in "${pairs[@]}"; do
    kw=${p%% *}; want=${p#* }
    got=${eff[$kw]-}
    echo "ct:$kw=$got"
    case ";$CT_SSHD_CHECK;" in *";$kw;"*) ;; *) continue ;; esac
    if [ "${got,,}" != "${want,,}" ]; then
      # shellcheck disable=SC1087 # $kw is a plain word: the [ after it opens a bracket expression
      files=$(grep -il "^[[:space:]]*$kw[[:space:]]" /etc/ssh/sshd_config /etc/ssh/sshd_config.d/*.conf 2>/dev/null | grep -vx "$CT_PATH" | tr '\n' ' ')
      echo "$kw: wanted '$want' but sshd uses '$got'; set first by: ${files:-the main config or a Match block} (sshd keeps the first value it reads: rename conntune's drop-in to sort before it, or remove the key there)"
      bad=1
    fi
  done
  return $bad
}

# Reload sshd (Debian: ssh.service; RHEL: sshd.service; no systemd: SIGHUP).
ct_reload() {
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    if systemctl cat ssh.service >/dev/null 2>&1; then unit=ssh.service; else unit=sshd.service; fi
    systemctl reload "$unit" || return 1
  else
    kill -HUP "$(cat /run/sshd.pid)" || return 1
  fi
}

hook_preflight() {
  # include: ct_sshd_config_with ct_sshd_effective
  command -v sshd >/dev/null || fail "sshd is not installed"
  grep -qiE '^[[:space:]]*Include[[:space:]]+/etc/ssh/sshd_config.d/\*\.conf' /etc/ssh/sshd_config \
    || { echo "/etc/ssh/sshd_config has no 'Include /etc/ssh/sshd_config.d/*.conf': a drop-in would be ignored"; exit 1; }
}

hook_validate() {
  # include: ct_sshd_config_with ct_sshd_effective
  t=$(ct_sshd_config_with "$NEW") || exit 1
  out=$(ct_sshd_effective "$t/sshd_config"); rc=$?
  rm -rf "$t"
  [ "$rc" != 2 ] || { echo "sshd -T rejects the new drop-in: $out"; exit 1; }
  [ "$rc" = 0 ] || { grep -v '^ct:' <<<"$out"; exit 1; }
}

hook_activate() {
  # include: login_probe ct_reload
  ct_reload || exit 1
  ct_login_probe || exit 1
}

hook_verify() {
  # include: ct_sshd_config_with ct_sshd_effective
  ct_sshd_effective /etc/ssh/sshd_config
}

hook_deactivate() {
  out=$(sshd -t 2>&1) || { echo "the restored sshd config does not pass sshd -t: $out"; exit 1; }
  # include: ct_reload
  ct_reload
}
