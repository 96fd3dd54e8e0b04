#!/usr/bin/env bash
# .ci/postgres.sh - a throw-away PostgreSQL cluster for newswatch's tests.
#
# Design: this file is a command, never sourced. Messages go to stderr; `start`
# prints nothing on stdout but two `export` lines, so a shell can eval them:
#
#     bash .ci/postgres.sh install              # once per machine (root): apt-get install postgresql
#     eval "$(bash .ci/postgres.sh start)"      # new cluster, sets the two variables below
#     pytest                                    # the postgres tests use NEWSWATCH_TEST_POSTGRES_URL
#     bash .ci/postgres.sh stop                 # stops $NEWSWATCH_TEST_PG_DIR and deletes it
#
# Commands:
#   install     apt-get install postgresql (Debian) unless server binaries are already there;
#               a fast no-op when they are.
#   start       initdb a new cluster in /tmp/newswatch-pg.XXXXXX (trust auth, listening only on
#               127.0.0.1 at a free port, unix socket inside that dir, fsync off), wait for
#               pg_isready, create database newswatch_test, and print on stdout:
#                 export NEWSWATCH_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:PORT/newswatch_test
#                 export NEWSWATCH_TEST_PG_DIR=/tmp/newswatch-pg.XXXXXX
#               If NEWSWATCH_PG_OWNER holds a pid (.ci/run passes its own), the cluster belongs
#               to that process: once it is gone, a later start or prune stops the cluster.
#   stop [DIR]  pg_ctl stop -m fast the cluster in DIR (default $NEWSWATCH_TEST_PG_DIR), then
#               delete DIR.
#   prune       delete what killed runs left in /tmp: dirs whose server is not running, and
#               clusters whose owner process is gone; lists the other running clusters.
#               `start` prunes first, so stale dirs never get in its way.
#
# As root the server runs as the `postgres` user (runuser); otherwise as the calling user.
# The cluster's log is DIR/postgres.log. Environment knobs: NEWSWATCH_PG_BINDIR (server
# binaries; default: newest /usr/lib/postgresql/*/bin), NEWSWATCH_PG_TMPDIR (default /tmp).
set -euo pipefail

readonly PREFIX=newswatch-pg
readonly TMP_PARENT=${NEWSWATCH_PG_TMPDIR:-/tmp}
readonly DB_NAME=newswatch_test
readonly SELF="bash .ci/postgres.sh"

log() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

# Directory holding initdb, pg_ctl, postgres, pg_isready, createdb (newest version wins).
find_bindir() {
    local d found=""
    if [[ -n ${NEWSWATCH_PG_BINDIR:-} ]]; then
        [[ -x $NEWSWATCH_PG_BINDIR/initdb && -x $NEWSWATCH_PG_BINDIR/pg_ctl ]] || return 1
        printf '%s\n' "$NEWSWATCH_PG_BINDIR"
        return 0
    fi
    for d in /usr/lib/postgresql/*/bin; do
        if [[ -x $d/initdb && -x $d/pg_ctl && -x $d/postgres && -x $d/pg_isready ]]; then
            found+="$d"$'\n'
        fi
    done
    if [[ -n $found ]]; then
        printf '%s' "$found" | sort -V | tail -n 1
        return 0
    fi
    # Not Debian's layout: take initdb from PATH.
    d=$(command -v initdb 2>/dev/null) || return 1
    d=$(dirname "$(readlink -f "$d")")
    [[ -x $d/pg_ctl ]] || return 1
    printf '%s\n' "$d"
}

# "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)" -> 15.18
server_version() { "$1/postgres" --version | awk '{print $3}'; }

# C.UTF-8 where the machine has it (Debian 12 does), else plain C.
pg_locale() {
    local all
    all=$(locale -a 2>/dev/null || true)
    if [[ $all =~ (^|$'\n')C\.(UTF-8|utf8)($'\n'|$) ]]; then echo C.UTF-8; else echo C; fi
}

# Run a command as the cluster's owner, from / (the caller's cwd may be closed to it), with a
# locale that exists (a broken LANG/LC_ALL in the caller's environment would upset initdb).
# `as_pg --log FILE cmd...` sends its output to FILE and its stdin from /dev/null; the redirection
# happens in the subshell, so this shell's own stderr is never rerouted (traps print to it).
as_pg() {
    local loc log=""
    if [[ $1 == --log ]]; then
        log=$2
        shift 2
    fi
    loc=$(pg_locale)
    (
        cd /
        if [[ -n $log ]]; then exec </dev/null >"$log" 2>&1; fi
        if [[ $EUID -eq 0 ]]; then
            exec runuser -u postgres -- env LC_ALL="$loc" LANG="$loc" "$@"
        else
            exec env LC_ALL="$loc" LANG="$loc" "$@"
        fi
    )
}

# True if process $1 exists and is not a zombie (PID 1 here may reap orphans only seconds later).
pid_alive() {
    local stat
    [[ $1 =~ ^[0-9]+$ ]] || return 1
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]]
}

# Pid of the cluster's postmaster in DIR if it is running, else fail.
running_pid() {
    local pid comm
    [[ -f $1/data/postmaster.pid ]] || return 1
    pid=$(head -n 1 "$1/data/postmaster.pid" 2>/dev/null) || return 1
    pid_alive "$pid" || return 1
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
    [[ $comm == postgres || $comm == postmaster ]] || return 1
    printf '%s\n' "$pid"
}

# Stop the cluster in DIR (if running) and delete DIR.
stop_dir() {
    local dir=$1 bindir pid i
    if pid=$(running_pid "$dir"); then
        bindir=$(find_bindir) || bindir=""
        if [[ -n $bindir ]] && as_pg --log /dev/null "$bindir/pg_ctl" stop -D "$dir/data" -m fast -w -t 60; then
            :
        else
            log "fast shutdown of $dir failed; killing postmaster $pid"
            kill -QUIT "$pid" 2>/dev/null || true
            for ((i = 0; i < 50; i++)); do
                pid_alive "$pid" || break
                sleep 0.1
            done
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -rf -- "$dir"
}

cmd_install() {
    local bindir aptlog
    if bindir=$(find_bindir); then
        log "PostgreSQL $(server_version "$bindir") already installed ($bindir)"
        return 0
    fi
    [[ $EUID -eq 0 ]] || die "installing PostgreSQL needs root (sudo $SELF install)"
    command -v apt-get >/dev/null || die "no apt-get: install a PostgreSQL server by hand, set NEWSWATCH_PG_BINDIR"
    log "installing PostgreSQL from Debian's packages"
    aptlog=$(mktemp)
    if ! {
        DEBIAN_FRONTEND=noninteractive apt-get update -q &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
                -o Dpkg::Use-Pty=0 postgresql
    } >"$aptlog" 2>&1; then
        cat "$aptlog" >&2
        rm -f "$aptlog"
        die "apt-get install postgresql failed"
    fi
    rm -f "$aptlog"
    bindir=$(find_bindir) || die "postgresql installed but no initdb/pg_ctl under /usr/lib/postgresql/*/bin"
    log "installed PostgreSQL $(server_version "$bindir") ($bindir)"
}

cmd_prune() {
    local d pid owner
    shopt -s nullglob
    for d in "$TMP_PARENT/$PREFIX".*; do
        [[ -d $d ]] || continue
        # A start in progress: leave it alone; a start that was killed: undo it.
        if [[ -f $d/starting ]]; then
            if pid_alive "$(cat "$d/starting" 2>/dev/null)"; then
                continue
            fi
            log "removing $d, left by a start that was killed"
            stop_dir "$d"
            continue
        fi
        if pid=$(running_pid "$d"); then
            owner=$(cat "$d/owner" 2>/dev/null || true)
            if [[ -n $owner ]] && ! pid_alive "$owner"; then
                log "stopping orphaned cluster $d (its owner, pid $owner, is gone)"
                stop_dir "$d"
            else
                log "note: cluster still running in $d (postmaster $pid; stop it with: $SELF stop $d)"
            fi
            continue
        fi
        # A brand-new dir whose start has not written its marker yet: give it a minute.
        if [[ ! -e $d/starting && ! -e $d/data && -n $(find "$d" -maxdepth 0 -mmin -1 2>/dev/null) ]]; then
            continue
        fi
        log "removing leftover $d"
        rm -rf -- "$d"
    done
}

# Free TCP port on 127.0.0.1 (the kernel picks it; a race with another process is retried).
free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

START_DIR=""
on_start_exit() {
    local rc=$?
    if [[ $rc -ne 0 && -n $START_DIR ]]; then
        log "start did not finish (exit $rc); cleaning up $START_DIR"
        stop_dir "$START_DIR"
    fi
}

# Called with stdout sent to stderr (see the dispatch at the bottom): the server must not inherit
# the caller's stdout, which may be the pipe of "$(...)" that would then never reach EOF.
START_URL="" START_DIR_DONE=""
cmd_start() {
    local bindir version dir port loc attempt i url ready=""
    bindir=$(find_bindir) || die "no PostgreSQL server binaries; run: $SELF install"
    version=$(server_version "$bindir")
    if [[ $EUID -eq 0 ]]; then
        id postgres >/dev/null 2>&1 || die "no 'postgres' user to run the server as"
    fi
    command -v python3 >/dev/null || die "python3 is needed to pick a free port"
    loc=$(pg_locale)

    cmd_prune

    dir=$(mktemp -d "$TMP_PARENT/$PREFIX.XXXXXX")
    START_DIR=$dir
    trap on_start_exit EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM
    echo "$$" >"$dir/starting"
    echo "${NEWSWATCH_PG_OWNER:-}" >"$dir/owner"
    chmod 755 "$dir"
    if [[ $EUID -eq 0 ]]; then
        chown postgres:postgres "$dir"
    fi
    as_pg mkdir -m 755 "$dir/socket"

    if ! as_pg --log "$dir/initdb.log" "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust \
        -E UTF8 --locale="$loc" --no-sync; then
        cat "$dir/initdb.log" >&2
        die "initdb failed"
    fi
    cat >>"$dir/data/postgresql.conf" <<EOF

# --- newswatch throw-away test cluster (.ci/postgres.sh) ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir/socket'
fsync = off
synchronous_commit = off
full_page_writes = off
EOF

    for attempt in 1 2 3 4 5; do
        port=$(free_port)
        if as_pg --log /dev/null "$bindir/pg_ctl" start -D "$dir/data" -l "$dir/postgres.log" \
            -w -t 60 -o "-p $port"; then
            break
        fi
        if grep -qs 'could not bind\|Address already in use' "$dir/postgres.log" && [[ $attempt -lt 5 ]]; then
            log "port $port was taken meanwhile; trying another"
            continue
        fi
        tail -n 30 "$dir/postgres.log" >&2 2>/dev/null || true
        die "pg_ctl start failed (log: $dir/postgres.log)"
    done

    for ((i = 0; i < 120; i++)); do
        if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres; then
            ready=1
            break
        fi
        sleep 0.25
    done
    [[ -n $ready ]] || die "server on 127.0.0.1:$port never answered pg_isready (log: $dir/postgres.log)"

    PGCONNECT_TIMEOUT=10 "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres -w "$DB_NAME" ||
        die "createdb $DB_NAME failed"

    url="postgresql+psycopg://postgres@127.0.0.1:$port/$DB_NAME"
    echo "$port" >"$dir/port"
    echo "$url" >"$dir/url"
    rm -f "$dir/starting"
    START_DIR=""
    trap - EXIT HUP INT TERM

    log "PostgreSQL $version ready: postgresql://postgres@127.0.0.1:$port/$DB_NAME (dir $dir)"
    START_URL=$url
    START_DIR_DONE=$dir
}

cmd_stop() {
    local dir=${1:-${NEWSWATCH_TEST_PG_DIR:-}}
    [[ -n $dir ]] || die "usage: $SELF stop DIR   (or set NEWSWATCH_TEST_PG_DIR)"
    case $(basename -- "$dir") in
        "$PREFIX".*) ;;
        *) die "refusing to delete $dir: not a $PREFIX.* directory" ;;
    esac
    if [[ ! -d $dir ]]; then
        log "$dir is already gone"
        return 0
    fi
    dir=$(cd "$dir" && pwd)
    stop_dir "$dir"
    log "stopped the cluster and removed $dir"
}

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
    exit 2
}

case ${1:-} in
    install) cmd_install ;;
    start)
        cmd_start >&2
        printf 'export NEWSWATCH_TEST_POSTGRES_URL=%q\n' "$START_URL"
        printf 'export NEWSWATCH_TEST_PG_DIR=%q\n' "$START_DIR_DONE"
        ;;
    stop) cmd_stop "${2:-}" ;;
    prune) cmd_prune ;;
    -h | --help | help) usage ;;
    *) usage ;;
esac
