#!/bin/sh
# The naive way, as cron scripts and nft-dns do it: per name one dig (A and AAAA), and when a
# family's answer differs from the last one, delete the old elements and add the new ones, one nft
# command each. Shell builtins elsewhere, so the naive way pays only for dig and nft.
# Between the delete and the add the set lacks that name's addresses: each such window is appended
# (in microseconds) to $WINDOWS.
# Usage: naive.sh NAMES_FILE DNS_PORT STATE_DIR NETNS WINDOWS
names=$1 port=$2 state=$3 ns=$4 windows=$5
nft() { ip netns exec "$ns" nft "$@"; }
while read -r name; do
  answers=$(dig +short +time=2 +tries=1 -p "$port" @127.0.0.1 "$name" A "$name" AAAA)
  v4='' v6=''
  for a in $answers; do
    case $a in
      *[!0-9a-fA-F.:]* | *.) ;; # a CNAME target, or a word of a dig warning (";; Warning: query response not set")
      *:*) v6="${v6:+$v6,}$a" ;;
      *) v4="${v4:+$v4,}$a" ;;
    esac
  done
  for fam in 4 6; do
    if [ "$fam" = 4 ]; then new=$v4 set=web_v4; else new=$v6 set=web_v6; fi
    old=''
    [ -f "$state/$name.$fam" ] && read -r old < "$state/$name.$fam"
    [ "$new" = "$old" ] && continue
    start=$(date +%s%6N)
    [ -n "$old" ] && nft delete element inet naive "$set" "{ $old }"
    [ -n "$new" ] && nft add element inet naive "$set" "{ $new }"
    [ -n "$old" ] && echo $(($(date +%s%6N) - start)) >> "$windows"
    echo "$new" > "$state/$name.$fam"
  done
done < "$names"
exit 0
