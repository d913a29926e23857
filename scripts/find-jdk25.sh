# Sourced by ./mvnw and every script of the project: makes JAVA_HOME point at a JDK 25 or newer,
# so that nobody has to export anything. Order: JAVA_HOME if it is already 25+, then `java` on PATH,
# then /usr/lib/jvm/*25* (and newer), then macOS-style ~/.sdkman candidates.
shmsync_java_feature() { # prints the feature version of the JDK at $1, or 0
  local rel="$1/release" v
  [ -r "$rel" ] || { echo 0; return; }
  v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$rel")
  echo "${v:-0}"
}
shmsync_find_jdk25() {
  local c
  if [ -n "${JAVA_HOME:-}" ] && [ "$(shmsync_java_feature "$JAVA_HOME")" -ge 25 ]; then return 0; fi
  if command -v java >/dev/null 2>&1; then
    c=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
    if [ "$(shmsync_java_feature "$c")" -ge 25 ]; then export JAVA_HOME="$c"; return 0; fi
  fi
  for c in /usr/lib/jvm/*25* /usr/lib/jvm/*2[6-9]* /usr/lib/jvm/* "$HOME"/.sdkman/candidates/java/*; do
    [ -x "$c/bin/java" ] || continue
    if [ "$(shmsync_java_feature "$c")" -ge 25 ]; then export JAVA_HOME="$c"; return 0; fi
  done
  echo "shmsync: no JDK 25 or newer found (JAVA_HOME=${JAVA_HOME:-unset}, /usr/lib/jvm has: $(ls /usr/lib/jvm 2>/dev/null | tr '\n' ' '))." >&2
  echo "shmsync: install one (e.g. apt-get install temurin-25-jdk) or set JAVA_HOME to it." >&2
  return 1
}
shmsync_find_jdk25 || exit 1
export PATH="$JAVA_HOME/bin:$PATH"
