# shellcheck shell=bash
# nofile limits: the host side of the limits.d file (limits_*), the pam-auth-update profile (pam_*)
# and systemd's DefaultLimitNOFILE drop-in (systemd_default_*). See hooks.ts for the variables.

ct_pam_apply() {
  local out
  if [ -e "$CT_PATH" ]; then out=$(DEBIAN_FRONTEND=noninteractive pam-auth-update --enable "$CT_PAM_PROFILE" 2>&1)
  else out=$(DEBIAN_FRONTEND=noninteractive pam-auth-update --remove "$CT_PAM_PROFILE" 2>&1); fi || { echo "pam-auth-update: $out"; return 1; }
}

hook_limits_preflight() {
  if grep -qsE '^[[:space:]]*session[[:space:]]+(required|requisite|optional)[[:space:]]+pam_limits\.so' /etc/pam.d/sshd /etc/pam.d/common-session; then
    echo "ct:pam_limits=enabled"
  else
    echo "ct-warn:pam_limits is not in /etc/pam.d/sshd or common-session: new logins will not get these limits"; echo "ct:pam_limits=missing"
  fi
}

hook_limits_validate() {
  bad=$(grep -vE '^(#.*|[*@%]?[A-Za-z0-9_-]* (soft|hard) nofile [0-9]+|)$' "$NEW") && { echo "malformed lines: $bad"; exit 1; }
  exit 0
}

hook_limits_verify() {
  # include: login_probe

  echo "ct:file=$CT_PATH"
  if [ "${CT_OP:-apply}" = read ]; then
    # Refresh opens one connection per host and no other: its limits are those of a login made during this run.
    out=$(printf 'ct:login_soft=%s\nct:login_hard=%s\n' "$(ulimit -Sn)" "$(ulimit -Hn)")
  else
    out=$(ct_fresh_login) || { echo "the fresh-login check: $out"; exit 1; }
  fi
  printf '%s\n' "$out"
  s=""; h=""
  while IFS= read -r line; do
    case "$line" in ct:login_soft=*) s=${line#*=} ;; ct:login_hard=*) h=${line#*=} ;; esac
  done <<<"$out"
  if [ "$CT_LOGIN_COVERED" = yes ]; then
    [ "$s" = "$CT_WANT_SOFT" ] && [ "$h" = "$CT_WANT_HARD" ] || { echo "a fresh login gets nofile $s/$h, wanted $CT_WANT_SOFT/$CT_WANT_HARD (pam_limits missing, or a hard limit above what the machine allows)"; exit 1; }
  else
    echo "ct-warn:the login user is not among the limit domains: its limits are shown, not checked"
  fi
}

hook_pam_preflight() {
  command -v pam-auth-update >/dev/null || { echo "pam-auth-update is not on this host (Debian and Ubuntu have it): set limits.pam to check and add pam_limits to the PAM stack by hand"; exit 1; }
}

hook_pam_validate() {
  grep -qx 'Session-Type: Additional' "$NEW" && grep -qE '^[[:space:]]+required[[:space:]]+pam_limits.so$' "$NEW" || { echo "not a pam_limits session profile"; exit 1; }
}

hook_pam_activate() {
  # include: login_probe ct_pam_apply
  ct_pam_apply || exit 1
  ct_login_probe pam-auth-update || exit 1
}

hook_pam_verify() {
  bad=0
  for f in /etc/pam.d/common-session /etc/pam.d/common-session-noninteractive; do
    if grep -qE '^[[:space:]]*session[[:space:]]+required[[:space:]]+pam_limits.so' "$f"; then echo "ct:pam_limits:$(basename "$f")=enabled"
    else echo "$f has no pam_limits line after pam-auth-update (it leaves PAM files edited by hand alone, e.g. with a module line it did not write: look, then run pam-auth-update --force, or set limits.pam to check)"; bad=1; fi
  done
  exit $bad
}

hook_pam_beforeRestore() {
  DEBIAN_FRONTEND=noninteractive pam-auth-update --remove "$CT_PAM_PROFILE"
}

hook_pam_deactivate() {
  # include: ct_pam_apply
  ct_pam_apply
}

hook_systemd_default_preflight() {
  [ -d /run/systemd/system ] || { echo "systemd is not running on this host"; exit 1; }
}

hook_systemd_default_activate() {
  systemctl daemon-reexec
}

hook_systemd_default_verify() {
  hard=$(systemctl show -p DefaultLimitNOFILE --value); soft=$(systemctl show -p DefaultLimitNOFILESoft --value)
  echo "ct:DefaultLimitNOFILE=$hard"; echo "ct:DefaultLimitNOFILESoft=$soft"
  [ "$hard" = "$CT_WANT_HARD" ] && [ "$soft" = "$CT_WANT_SOFT" ] || { echo "systemd shows DefaultLimitNOFILE=$soft:$hard, wanted $CT_WANT_SOFT:$CT_WANT_HARD (is the hard limit above what this machine allows?)"; exit 1; }
}
