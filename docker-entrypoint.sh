#!/bin/sh
# The image's entry point: imgdupes, run as the owner of the folder mounted on
# /app, so that files it creates there (--log, --html, --move-to) are theirs
# and the files already there are never touched by root.  Without a mounted
# folder (or one owned by root) it runs as the container's user.
set -e
if [ "$(id -u)" = 0 ] && [ -d /app ]; then
    uid=$(stat -c %u /app)
    gid=$(stat -c %g /app)
    if [ "$uid" != 0 ]; then
        exec setpriv --reuid="$uid" --regid="$gid" --clear-groups imgdupes "$@"
    fi
fi
exec imgdupes "$@"
