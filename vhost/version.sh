#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Print vhx's version, the one MODULE_VERSION and DKMS report:
#   vhost/VERSION if present (a copy of the sources: DKMS, a tarball),
#   else from git: a tag vX.Y gives X.Y[-N-gHASH][-dirty], no tag gives
#   0.1+gHASH[-dirty], and outside git, 0.1.
dir=$(dirname "$0")
if [ -f "$dir/VERSION" ]; then
	cat "$dir/VERSION"
elif v=$(git -C "$dir" describe --tags --match 'v[0-9]*' --dirty 2>/dev/null); then
	echo "${v#v}"
elif v=$(git -C "$dir" describe --always --dirty 2>/dev/null); then
	echo "0.1+g$v"
else
	echo 0.1
fi
