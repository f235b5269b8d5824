# shellcheck shell=bash
# The monitor's three files: the host side. The script is checked with `bash -n`; the service and
# the timer are systemd units (@TIMER@ is the timer's quoted unit name, filled in by hooks.ts).

hook_script_validate() {
  bash -n "$NEW"
}

hook_service_activate() {
  systemctl daemon-reload
}

hook_service_deactivate() {
  systemctl daemon-reload
}

hook_timer_activate() {
  systemctl daemon-reload && systemctl enable --now @TIMER@ >/dev/null 2>&1 && systemctl restart @TIMER@
}

hook_timer_verify() {
  echo "ct:timer=$(systemctl is-active @TIMER@)"; echo "ct:enabled=$(systemctl is-enabled @TIMER@)"; [ "$(systemctl is-active @TIMER@)" = active ]
}

# Destroy: the timer is disabled while its file still exists; then the file goes, and with it the
# counts it kept for the growth check (regular files only, never through a link).
hook_timer_beforeRestore() {
  systemctl disable --now @TIMER@ >/dev/null 2>&1
  find /var/lib/conntune -maxdepth 1 -type f -name 'conn-monitor.samples.*' -delete 2>/dev/null; true
}

hook_timer_deactivate() {
  systemctl daemon-reload
}
