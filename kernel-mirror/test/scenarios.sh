#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# The VM scenarios of issue 4, run inside the guest by run-vm.sh (as root, in
# the host's root over 9p, cwd = the writable scratch directory). Appends
# "RESULT <kernel> <scenario> PASS|FAIL <detail>" lines to results.txt.
#
#   corrupt   insmod against corrupt regions: refused, dmesg clean
#   pingpong  JVM -> kthread, 10000 round trips; kthread -> JVM, 10000
#   futex-call  (with pingpong) do_futex found, normalised, behind the static call
#   c-interop glibc sem_wait/sem_post and the C protocol against a kthread
#   rtt       JVM<->kthread vs JVM<->JVM RTT, alternating runs (rtt.txt)
#   mutex     2 JVMs + 2 C programs + 2 kthreads: exact counter total
#   rmmod     rmmod while kthreads block and JVMs hammer: clean, JVMs go on
#   identity  the region file replaced under the module is reported
#   api       shmsync_test.ko (another module) on the exported API: attach,
#             down_timeout, down_interruptible/killable and signals,
#             kthread_stop, up() from atomic context (deferred wake), the
#             mutex API (trylock/timeout/interruptible/EDEADLK/EPERM)
#   removal   kernel threads blocked on a semaphore, a mutex and a rwsem
#             (down_read and down_write) end with -EIDRM when a JVM removes
#             them
#   kmutex    a JVM, glibc pthread_mutex_lock, C mutex.h and 2 kthreads
#             (shmsync_mutex_lock) on one robust mutex: exact counter
#   kowner    a kthread holds a mutex at rmmod: released as owner-died, the
#             waiting JVM gets OwnerDiedException
#   dkms      the module built by "dkms add" + "dkms build" (dkms.conf) on the
#             host for this kernel loads and answers a JVM
#   krwsem    a JVM (RwSemaphore, 2 readers + 2 writers) and 4 kthreads
#             (shmsync_rwsem_down_read/down_write, 2 + 2) on one rwsem: under
#             the write lock a then b are incremented, readers check a == b;
#             no torn read, a = b = all writes, both kinds progress during the
#             JVM's run; then shmsync_test.ko on the same rwsem: trylock,
#             timeouts, interruptible/killable and signals, downgrade,
#             kthread_stop; the state word ends free (0 but for PHASE)
#   kattach   header kernel_attach/kernel_generation across insmod/rmmod;
#             Region.unlink refused while attached, allowed after; a cp'd
#             copy (kernel_attach = 1 in its header) can be unlinked
set -u
K=${KNAME:-$(uname -r)}
B=$KM/build
C=${SHMSYNC_C:-$B/shmsync-c}
CP=${CORE_CLASSES:-$REPO/core/target/classes}:$B/java
CDS=; [ -f guest.jsa ] && CDS=-XX:SharedArchiveFile=$PWD/guest.jsa
JAVA="$JAVA_HOME/bin/java --enable-native-access=ALL-UNNAMED -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx256m $CDS -cp $CP GuestTest"
DBG=/sys/kernel/debug/shmsync
R=t
RTT_RUNS=${RTT_RUNS:-5}
RTT_ROUNDS=${RTT_ROUNDS:-2000}
MUTEX_ITERS=${MUTEX_ITERS:-5000}
RW_ITERS=${RW_ITERS:-3000}
SCEN=${SCENARIOS:-corrupt pingpong c-interop rtt mutex rmmod identity api removal kmutex kowner krwsem dkms kattach}

log() { echo "[$(cut -d' ' -f1 /proc/uptime)] $*"; }
result() { # scenario PASS|FAIL detail...
	s=$1; v=$2; shift 2
	echo "RESULT $K $s $v $*" >>results.txt
	log "RESULT $s $v $*"
}
dmesg_bad() { dmesg | grep -E 'BUG:|Oops|WARNING:|KASAN|Call Trace|general protection' | head -3; }
stat_of() { $C stat $R "$1"; }      # value=V nwaiters=W
field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p"; }
st_line() { grep "^$1" $DBG/selftest; }
wait_st_done() { # selftest-prefix timeout_s: until running=0
	end=$(($(now) + $2))
	while [ "$(now)" -lt $end ]; do
		st_line "$1" | grep -q 'running=0' && return 0
		sleep 0.5
	done
	return 1
}
do_rmmod() { # prints seconds taken; fails if it takes > 20 s
	t0=$(cut -d' ' -f1 /proc/uptime)
	timeout 20 rmmod shmsync || return 1
	t1=$(cut -d' ' -f1 /proc/uptime)
	echo "$t0 $t1" | awk '{printf "%.2f", $2 - $1}'
}
idle() { # "value=V nwaiters=W" maxwaiters: value 0, at most maxwaiters waiters
	[ "${1%% *}" = value=0 ] && [ "${1##*=}" -le "$2" ]
}
running() { # pid: exists and is not a zombie (no fork: this runs in loops)
	st=Z
	[ -r /proc/$1/stat ] && read -r _ _ st _ </proc/$1/stat 2>/dev/null
	[ "$st" != Z ]
}
now() { read -r u _ </proc/uptime; echo ${u%.*}; }
watchdog() { # seconds pid...: wait for the pids; after the time, dump state and kill them
	end=$(($(now) + $1)); shift
	while [ "$(now)" -lt $end ]; do
		alive=0
		for p in "$@"; do running $p && alive=1; done
		[ $alive = 0 ] && return 0
		sleep 0.5
	done
	log "WATCHDOG: still running: $*"
	cat $DBG/selftest $DBG/*/status 2>/dev/null
	for p in "$@"; do kill -9 $p 2>/dev/null; done
	return 1
}
kwords() { od -An -tu4 -j96 -N8 "$1" | awk '{print $1, $2}'; } # kernel_attach kernel_generation
loaded() { grep -q '^shmsync ' /proc/modules; }
unload() { loaded && rmmod shmsync; true; }

log "kernel $(uname -r), scenarios: $SCEN"
dmesg -n 1 2>/dev/null
log "setup"
$JAVA setup $R 1048576 pp.ping pp.pong kp.ping kp.pong jj.ping jj.pong cp.ping cp.pong \
	m=1 cnt h=1 cnt2 blk api rms kcnt krw.a krw.b >setup.log 2>&1 || { result setup FAIL "$(tail -3 setup.log)"; exit 1; }
$JAVA mkmutex $R km ko rmm apim >>setup.log 2>&1 || { result setup FAIL "$(tail -3 setup.log)"; exit 1; }
log "$(cat setup.log)"

for s in $SCEN; do
case $s in
corrupt)
	log "scenario corrupt"
	F=/dev/shm/shmsync
	mk() { cp $F.$R $F.$1; }
	poke() { # offset file hexbytes (in file order)
		o=""
		for x in $(echo "$3" | sed 's/\(..\)/\1 /g'); do o="$o\\$(printf '%03o' 0x$x)"; done
		printf "$o" | dd of=$2 bs=1 seek=$1 conv=notrunc 2>/dev/null
	}
	mk badmagic; poke 0 $F.badmagic 58
	mk badversion; poke 8 $F.badversion 02
	mk badheap; poke 40 $F.badheap 0000fffffffffff0
	mk badheapsize; poke 48 $F.badheapsize 0000000000001000
	mk badcap; poke 32 $F.badcap ffffff7f
	mk badentryoff; poke 136 $F.badentryoff 0000000100000000
	mk badentrysize; poke 144 $F.badentrysize 0000000000000080
	mk badstate; poke 132 $F.badstate 07
	mk dupname; dd if=$F.$R of=$F.dupname bs=1 skip=152 seek=216 count=40 conv=notrunc 2>/dev/null
	poke 197 $F.dupname "$(od -An -tx1 -j133 -N1 $F.$R | tr -d ' ')"
	mk truncated; truncate -s 8192 $F.truncated
	mk tiny; truncate -s 100 $F.tiny
	ln -sf shmsync.$R $F.symlink
	mk owner; chown 4242 $F.owner
	ok=0; bad=""
	for spec in badmagic:magic badversion:version badheap:heap_offset badheapsize:heap_size \
		    badcap:directory_capacity badentryoff:offset badentrysize:size badstate:state \
		    dupname:name truncated:region_size tiny:region_size symlink:-40 owner:owned; do
		b=${spec%%:*}; want=${spec#*:}
		dmesg -C
		if insmod $MODKO region=$b 2>/dev/null; then
			bad="$bad $b(loaded)"; rmmod shmsync
			continue
		fi
		msg=$(dmesg | grep -E 'shmsync: (region|cannot)' | head -1 | sed 's/^\[[^]]*\] //')
		crash=$(dmesg_bad)
		if [ -n "$crash" ] || ! echo "$msg" | grep -q -- "$want"; then
			bad="$bad $b(${crash:-no message})"
		else
			ok=$((ok + 1)); log "  $b: $msg"
		fi
		if [ -f $F.$b ] && [ "$(stat -c %s $F.$b)" -ge 104 ]; then
			kw=$(kwords $F.$b)
			[ "${kw%% *}" = 0 ] || bad="$bad $b(kernel_attach=${kw%% *} after refusal)"
		fi
		cref=$($C check $b 2>&1 | head -1)
		case "$cref" in OK*) [ $b != owner ] && bad="$bad $b(C accepted)";; esac
	done
	rm -f $F.bad* $F.dupname $F.truncated $F.tiny $F.symlink $F.owner
	if [ -z "$bad" ]; then result corrupt PASS "$ok corrupt regions refused, dmesg clean"
	else result corrupt FAIL "$bad"; fi
	;;
pingpong)
	log "scenario pingpong"
	dmesg -C
	insmod $MODKO region=$R selftest=pingpong:pp,pingpong:cp,ping:kp:10000 || { result pingpong FAIL insmod; continue; }
	fc=$(dmesg | sed -n 's/.*shmsync: futex calls go to \([^ ]*\) through a static call.*/\1/p' | head -1)
	case "$fc" in
	do_futex+0x0/*) result futex-call PASS "do_futex resolved and validated: static call to $fc" ;;
	*) result futex-call FAIL "dmesg: [$fc]" ;;
	esac
	$JAVA echo $R kp.ping kp.pong 11000 >echo-kp.log 2>&1 &
	ej=$!
	$JAVA ping $R pp.ping pp.pong 10000 1000 >ping-pp.log 2>&1
	prc=$?
	wait $ej; erc=$?
	wait_st_done ping:kp 60; kst=$(st_line ping:kp)
	up=$(grep RESULT ping-pp.log)
	sp=$(stat_of pp.ping) spo=$(stat_of pp.pong) sk=$(stat_of kp.ping) sko=$(stat_of kp.pong)
	log "  JVM->kthread: $up; kthread->JVM: $kst; $sp $spo $sk $sko"
	if [ $prc = 0 ] && [ $erc = 0 ] && echo "$kst" | grep -q 'done=11000 result=0' \
	   && idle "$sp" 1 && idle "$spo" 0 && idle "$sk" 0 && idle "$sko" 0 && [ -z "$(dmesg_bad)" ]; then
		result pingpong PASS "jvm->kthread 10000 rt p50_ns=$(echo "$up" | field p50_ns); kthread->jvm 10000 rt p50_ns=$(echo "$kst" | field p50_ns); no token lost"
	else
		result pingpong FAIL "ping rc=$prc echo rc=$erc [$kst] [$sp $spo $sk $sko] $(tail -q -n 2 ping-pp.log echo-kp.log | tr '\n' ' ')"
	fi
	;;
c-interop)
	log "scenario c-interop"
	loaded || insmod $MODKO region=$R selftest=pingpong:pp,pingpong:cp
	$C ping $R cp.ping cp.pong 10000 --glibc >c-glibc.log 2>&1 &
	g=$!
	$C ping $R cp.ping cp.pong 10000 >c-proto.log 2>&1
	crc=$?; wait $g; grc=$?
	s1=$(stat_of cp.ping) s2=$(stat_of cp.pong)
	log "  glibc: $(grep RESULT c-glibc.log); C protocol: $(grep RESULT c-proto.log); $s1 $s2"
	if [ $crc = 0 ] && [ $grc = 0 ] && idle "$s1" 1 && idle "$s2" 0; then
		result c-interop PASS "glibc sem_post/sem_wait and C protocol, concurrently, 10000 rt each against one kthread; p50_ns glibc=$(grep RESULT c-glibc.log | field p50_ns) proto=$(grep RESULT c-proto.log | field p50_ns)"
	else
		result c-interop FAIL "rc glibc=$grc proto=$crc $s1 $s2 $(tail -q -n 1 c-glibc.log c-proto.log | tr '\n' ' ')"
	fi
	;;
rtt)
	log "scenario rtt"
	loaded || insmod $MODKO region=$R selftest=pingpong:pp,pingpong:cp
	n=$((RTT_RUNS * (RTT_ROUNDS + 500)))
	$JAVA echo $R jj.ping jj.pong $n >echo-jj.log 2>&1 &
	ej=$!
	$JAVA rtt $R pp.ping pp.pong jj.ping jj.pong $RTT_RUNS $RTT_ROUNDS 500 >rtt.log 2>&1
	rrc=$?; wait $ej
	grep -E '^RTT' rtt.log >rtt.txt
	if [ $rrc = 0 ] && grep -q RTT-SUMMARY rtt.log; then
		result rtt PASS "$(grep RTT-SUMMARY rtt.log | cut -d' ' -f2-)"
	else
		result rtt FAIL "$(tail -2 rtt.log | tr '\n' ' ')"
	fi
	;;
mutex)
	log "scenario mutex"
	unload
	dmesg -C
	insmod $MODKO region=$R selftest=mutex:m:cnt:0:2 || { result mutex FAIL insmod; continue; }
	$JAVA mutex $R m cnt $MUTEX_ITERS 2 >mutex-j1.log 2>&1 &
	j1=$!
	$JAVA mutex $R m cnt $MUTEX_ITERS 2 >mutex-j2.log 2>&1 &
	j2=$!
	$C mutex $R m cnt $MUTEX_ITERS --glibc >mutex-c1.log 2>&1 &
	c1=$!
	$C mutex $R m cnt $MUTEX_ITERS >mutex-c2.log 2>&1 &
	c2=$!
	watchdog 300 $j1 $j2 $c1 $c2
	rc=0
	for p in $j1 $j2 $c1 $c2; do wait $p || rc=$((rc + 1)); done
	kdone=$(st_line mutex:m | field done)
	t=$(do_rmmod) || { result mutex FAIL "rmmod hung"; continue; }
	kops=$(dmesg | sed -n 's/.*selftest mutex:m finished: \([0-9]*\) operations.*/\1/p' | tail -1)
	cnt=$($C counter $R cnt | field counter)
	exp=$((6 * MUTEX_ITERS + kops))
	sm=$(stat_of m)
	log "  counter=$cnt expected=$exp (kthreads $kops, $kdone while JVMs ran) $sm rmmod ${t}s"
	if [ $rc = 0 ] && [ "$cnt" = "$exp" ] && [ "$sm" = "value=1 nwaiters=0" ] && [ -z "$(dmesg_bad)" ]; then
		result mutex PASS "counter=$cnt = 2 JVMs x 2 threads x $MUTEX_ITERS + glibc $MUTEX_ITERS + C $MUTEX_ITERS + 2 kthreads $kops"
	else
		result mutex FAIL "rc=$rc counter=$cnt expected=$exp $sm"
	fi
	;;
rmmod)
	log "scenario rmmod"
	unload
	dmesg -C
	rm -f /tmp/rmmod.flag
	insmod $MODKO region=$R selftest=block:blk:2,mutex:h:cnt2:0:2,pingpong:pp || { result rmmod FAIL insmod; continue; }
	$JAVA hammer $R h /tmp/rmmod.flag 5000 >hammer.log 2>&1 &
	hj=$!
	end=$(($(now) + 120)); while ! grep -q READY hammer.log && [ "$(now)" -lt $end ]; do sleep 0.5; done
	sleep 2
	sb=$(stat_of blk)
	kst=$(st_line mutex:h)
	t=$(do_rmmod) || { result rmmod FAIL "rmmod hung"; touch /tmp/rmmod.flag; continue; }
	sa=$(stat_of blk)
	spp=$(stat_of pp.ping)
	touch /tmp/rmmod.flag
	watchdog 300 $hj
	wait $hj; hrc=$?
	sh=$(stat_of h)
	log "  before: blk $sb; $kst; rmmod ${t}s; after: blk $sa, h $sh, pp.ping $spp; $(grep DONE hammer.log)"
	if [ $hrc = 0 ] && [ "$sb" = "value=0 nwaiters=2" ] && [ "$sa" = "value=0 nwaiters=0" ] \
	   && [ "$sh" = "value=1 nwaiters=0" ] && [ "$spp" = "value=0 nwaiters=0" ] && grep -q 'DONE.*after=10000 permits=1' hammer.log && [ -z "$(dmesg_bad)" ]; then
		result rmmod PASS "rmmod in ${t}s with 2 kthreads blocked and 2 in a mutex loop against 2 JVM threads; JVMs went on ($(grep DONE hammer.log | cut -d' ' -f2-3)); no token lost"
	else
		result rmmod FAIL "hammer rc=$hrc blk before [$sb] after [$sa] h [$sh] $(tail -1 hammer.log) $(dmesg_bad)"
	fi
	;;
identity)
	log "scenario identity"
	unload
	dmesg -C
	insmod $MODKO region=$R || { result identity FAIL insmod; continue; }
	mv /dev/shm/shmsync.$R /dev/shm/shmsync.$R.old && cp /dev/shm/shmsync.$R.old /dev/shm/shmsync.$R
	sleep 5
	msg=$(dmesg | grep 'is another file')
	rep=$(grep '^replaced' $DBG/$R/status)
	rm -f /dev/shm/shmsync.$R && mv /dev/shm/shmsync.$R.old /dev/shm/shmsync.$R
	sleep 3
	back=$(dmesg | grep 'points to the attached file again')
	t=$(do_rmmod)
	if [ -n "$msg" ] && [ "$rep" = "replaced 1" ] && [ -n "$back" ] && [ -z "$(dmesg_bad)" ]; then
		result identity PASS "replaced file reported: $(echo "$msg" | sed 's/^\[[^]]*\] //' | cut -c1-90)..."
	else
		result identity FAIL "msg=[$msg] status=[$rep] back=[$back]"
	fi
	;;
api)
	log "scenario api"
	unload
	dmesg -C
	insmod $MODKO region=$R || { result api FAIL insmod; continue; }
	if ! timeout 300 insmod $TESTKO region=$R sem=api mutex=apim; then
		result api FAIL "insmod shmsync_test: $(dmesg | grep shmsync_test | tail -2 | tr '\n' ' ')"
		unload; continue
	fi
	st=$(grep '^sem api' $DBG/$R/status)
	dw=$(echo "$st" | field deferred_wakes)
	log "  $st"
	for n in attach timeout interrupt stop atomic mutex; do
		line=$(dmesg | sed -n "s/.*shmsync_test: RESULT $n \(.*\)/\1/p" | head -1)
		v=${line%% *}; d=${line#* }
		if [ $n = atomic ]; then
			d="$d; shmsync deferred_wakes=$dw"
			[ "${dw:-0}" -ge 2 ] || v=FAIL
		fi
		[ -n "$(dmesg_bad)" ] && { v=FAIL; d="$d $(dmesg_bad)"; }
		[ -n "$line" ] || d="no result line"
		result api-$n "${v:-FAIL}" "$d"
	done
	rmmod shmsync_test
	sa=$(stat_of api)
	ma=$($C mstat $R apim)
	t=$(do_rmmod) || { result api-unload FAIL "rmmod hung"; continue; }
	[ "$sa" = "value=0 nwaiters=0" ] || result api-unload FAIL "semaphore api after the tests: $sa"
	[ "$ma" = "lock=0x00000000 owner=0 kind=146" ] || result api-unload FAIL "mutex apim after the tests: $ma"
	;;
removal)
	log "scenario removal"
	unload
	dmesg -C
	$JAVA mkrwsem $R rmw >removal-mk.log 2>&1 || { result removal FAIL "mkrwsem: $(tail -1 removal-mk.log)"; continue; }
	insmod $MODKO region=$R || { result removal FAIL insmod; continue; }
	insmod $TESTKO region=$R removal=rms,rmm rmrwsem=rmw || { result removal FAIL "insmod shmsync_test"; unload; continue; }
	end=$(($(now) + 60))
	while [ "$(now)" -lt $end ]; do
		grep -q '^sem rms .*kwaiters=1' $DBG/$R/status && grep -q '^mutex rmm .*kwaiters=1' $DBG/$R/status \
			&& grep -q '^rwsem rmw .*kwaiters=2' $DBG/$R/status && break
		sleep 0.5
	done
	before=$(grep -E '^(sem rms|mutex rmm|rwsem rmw)' $DBG/$R/status | sed 's/ offset.*kwaiters=/ kwaiters=/; s/ futex_waits.*//' | tr '\n' ' ')
	t0=$(cut -d' ' -f1 /proc/uptime)
	$JAVA remove $R rms rmm rmw >remove.log 2>&1
	t1=$(cut -d' ' -f1 /proc/uptime)
	end=$(($(now) + 30))
	while [ "$(now)" -lt $end ] && [ "$(dmesg | grep -c 'shmsync_test: RESULT removal-')" -lt 4 ]; do sleep 0.2; done
	t2=$(cut -d' ' -f1 /proc/uptime)
	rs=$(dmesg | sed -n 's/.*shmsync_test: RESULT removal-sem //p' | head -1)
	rm=$(dmesg | sed -n 's/.*shmsync_test: RESULT removal-mutex //p' | head -1)
	rr=$(dmesg | sed -n 's/.*shmsync_test: RESULT removal-rwsem-read //p' | head -1)
	rw=$(dmesg | sed -n 's/.*shmsync_test: RESULT removal-rwsem-write //p' | head -1)
	rmmod shmsync_test
	t=$(do_rmmod) || { result removal FAIL "rmmod hung"; continue; }
	log "  before [$before] $(tr '\n' ' ' <remove.log) sem [$rs] mutex [$rm] rwsem [$rr] [$rw] java $t0-$t1 results by $t2"
	lat=$(echo "$t1 $t2" | awk '{printf "%.1f", $2 - $1}')
	for x in sem:"$rs" mutex:"$rm" rwsem-read:"$rr" rwsem-write:"$rw"; do
		n=${x%%:*}; line=${x#*:}
		v=${line%% *}
		[ -n "$(dmesg_bad)" ] && v=FAIL
		result removal-$n "${v:-FAIL}" "kernel thread blocked on the ${n%-*} (${before:-not seen waiting}); Region.remove by a JVM ended its wait: ${line#* } (results ${lat}s after the JVM exited)"
	done
	;;
kmutex)
	log "scenario kmutex"
	unload
	dmesg -C
	insmod $MODKO region=$R selftest=kmutex:km:kcnt:0:2 || { result kmutex FAIL insmod; continue; }
	$JAVA lockmutex $R km kcnt $MUTEX_ITERS 2 >kmutex-j.log 2>&1 &
	j1=$!
	$C pmutex $R km kcnt $MUTEX_ITERS --glibc >kmutex-c1.log 2>&1 &
	c1=$!
	$C pmutex $R km kcnt $MUTEX_ITERS >kmutex-c2.log 2>&1 &
	c2=$!
	watchdog 300 $j1 $c1 $c2
	rc=0
	for p in $j1 $c1 $c2; do wait $p || rc=$((rc + 1)); done
	kst=$(st_line kmutex:km)
	ms=$(grep '^mutex km' $DBG/$R/status | sed 's/ offset=[^ ]* generation=[^ ]* removed=[^ ]* lock=[^ ]*//')
	t=$(do_rmmod) || { result kmutex FAIL "rmmod hung"; continue; }
	kops=$(dmesg | sed -n 's/.*selftest kmutex:km finished: \([0-9]*\) operations.*/\1/p' | tail -1)
	cnt=$($C counter $R kcnt | field counter)
	exp=$((4 * MUTEX_ITERS + kops))
	mst=$($C mstat $R km)
	died="$(echo "$kst" | field owner_died) $(field owner_died <kmutex-c1.log) $(field owner_died <kmutex-c2.log)"
	log "  counter=$cnt expected=$exp (kthreads $kops) [$kst] [$ms] after: $mst owner_died: $died; rmmod ${t}s"
	if [ $rc = 0 ] && [ "$cnt" = "$exp" ] && [ "$mst" = "lock=0x00000000 owner=0 kind=146" ] && [ "$died" = "0 0 0" ] \
	   && [ -z "$(dmesg_bad)" ]; then
		result kmutex PASS "counter=$cnt = JVM 2 threads x $MUTEX_ITERS (Mutex) + glibc pthread_mutex_lock $MUTEX_ITERS + C mutex.h $MUTEX_ITERS + 2 kthreads $kops (shmsync_mutex_lock); no owner death reported; [${ms#mutex km }]"
	else
		result kmutex FAIL "rc=$rc counter=$cnt expected=$exp after [$mst] owner_died [$died] $(tail -q -n 1 kmutex-j.log kmutex-c1.log kmutex-c2.log | tr '\n' ' ')"
	fi
	;;
krwsem)
	log "scenario krwsem"
	unload
	dmesg -C
	$JAVA mkrwsem $R krw >krwsem-mk.log 2>&1 || { result krwsem FAIL "mkrwsem: $(tail -1 krwsem-mk.log)"; continue; }
	insmod $MODKO region=$R selftest=krwsem:krw:krw:0:4 || { result krwsem FAIL insmod; continue; }
	k0=$(st_line krwsem:krw)
	$JAVA rwsem $R krw krw $RW_ITERS 2 2 >krwsem-j.log 2>&1 &
	j1=$!
	watchdog 300 $j1
	wait $j1; rc=$?
	k1=$(st_line krwsem:krw)
	rs=$(grep '^rwsem krw' $DBG/$R/status | sed 's/ offset=[^ ]* generation=[^ ]* removed=[^ ]*//')
	t=$(do_rmmod) || { result krwsem FAIL "rmmod hung"; continue; }
	kw=$(dmesg | sed -n 's/.*selftest krwsem:krw: writer thread finished: \([0-9]*\) operations.*/\1/p' | awk '{s += $1} END {print s + 0}')
	kr=$(dmesg | sed -n 's/.*selftest krwsem:krw: reader thread finished: \([0-9]*\) operations.*/\1/p' | awk '{s += $1} END {print s + 0}')
	nfin=$(dmesg | grep -c 'selftest krwsem:krw: .* thread finished')
	ktorn=$(dmesg | sed -n 's/.*selftest krwsem:krw: .* operations, \([0-9]*\) torn.*/\1/p' | sort -n | tail -1)
	jd=$(grep '^DONE' krwsem-j.log)
	jw=$(echo "$jd" | field writes); jr=$(echo "$jd" | field reads); jt=$(echo "$jd" | field torn)
	ca=$($C counter $R krw.a | field counter); cb=$($C counter $R krw.b | field counter)
	exp=$((${jw:-0} + kw))
	r0=$(echo "$k0" | field reads); w0=$(echo "$k0" | field writes)
	r1=$(echo "$k1" | field reads); w1=$(echo "$k1" | field writes)
	log "  JVM [$jd] kthreads before [$k0] after [$k1] finished: $nfin threads, reads $kr writes $kw torn ${ktorn:-?}; a=$ca b=$cb expected $exp; [$rs]; rmmod ${t}s"
	if [ $rc = 0 ] && [ "$jw" = $((2 * RW_ITERS)) ] && [ "$jr" = $((2 * RW_ITERS)) ] && [ "$jt" = 0 ] \
	   && [ "$nfin" = 4 ] && [ "$ktorn" = 0 ] && [ "$ca" = "$exp" ] && [ "$cb" = "$exp" ] \
	   && [ "${r1:-0}" -gt "${r0:-0}" ] && [ "${w1:-0}" -gt "${w0:-0}" ] && [ -z "$(dmesg_bad)" ]; then
		result krwsem PASS "a=b=$ca = JVM writes $jw (2 writer threads, RwSemaphore) + kthread writes $kw (2 threads, shmsync_rwsem_down_write); no torn read (JVM $jr reads by 2 threads, kthreads $kr by 2); during the JVM's run kthread reads $r0->$r1, writes $w0->$w1; rmmod stopped the blocked kthreads in ${t}s"
	else
		result krwsem FAIL "rc=$rc JVM [$jd] a=$ca b=$cb expected $exp kthreads [$k0] -> [$k1] finished $nfin torn ${ktorn:-?} $(tail -2 krwsem-j.log | tr '\n' ' ') $(dmesg_bad)"
	fi
	dmesg -C
	insmod $MODKO region=$R || { result krwsem-api FAIL insmod; continue; }
	if ! timeout 300 insmod $TESTKO region=$R rwsem=krw; then
		result krwsem-api FAIL "insmod shmsync_test: $(dmesg | grep shmsync_test | tail -2 | tr '\n' ' ')"
		unload; continue
	fi
	sleep 1	# deferred wakes of the releases by insmod's task
	rs=$(grep '^rwsem krw' $DBG/$R/status)
	log "  $rs"
	for n in rwsem-try rwsem-interrupt rwsem-killable rwsem-stop; do
		line=$(dmesg | sed -n "s/.*shmsync_test: RESULT $n \(.*\)/\1/p" | head -1)
		v=${line%% *}; d=${line#* }
		[ -n "$(dmesg_bad)" ] && { v=FAIL; d="$d $(dmesg_bad)"; }
		[ -n "$line" ] || d="no result line"
		result krwsem-api-${n#rwsem-} "${v:-FAIL}" "$d"
	done
	st=$(echo "$rs" | field state)
	dw=$(echo "$rs" | field deferred_wakes)
	# free: every bit but PHASE (which each hand-off to queued readers toggles) is 0
	if { [ "$st" = 0x0000000000000000 ] || [ "$st" = 0x0000000000000002 ]; } && [ "${dw:-0}" -ge 2 ]; then
		result krwsem-api-state PASS "state word $st after the API tests (free: no hold, no queued reader or writer; only PHASE may be set); $dw wakes deferred to the worker (releases by insmod's task)"
	else
		result krwsem-api-state FAIL "[$rs]"
	fi
	rmmod shmsync_test
	t=$(do_rmmod) || result krwsem-api-state FAIL "rmmod hung"
	;;
kowner)
	log "scenario kowner"
	unload
	dmesg -C
	insmod $MODKO region=$R selftest=khold:ko || { result kowner FAIL insmod; continue; }
	end=$(($(now) + 60)); while ! st_line khold:ko | grep -q 'done=1' && [ "$(now)" -lt $end ]; do sleep 0.5; done
	$JAVA ownerdied $R ko >kowner.log 2>&1 &
	oj=$!
	end=$(($(now) + 120)); while ! grep -q READY kowner.log && [ "$(now)" -lt $end ]; do sleep 0.5; done
	sleep 3
	mb=$($C mstat $R ko)
	t=$(do_rmmod) || { result kowner FAIL "rmmod hung"; continue; }
	watchdog 200 $oj
	wait $oj; orc=$?
	ma=$($C mstat $R ko)
	warn=$(dmesg | grep 'released as owner-died' | sed 's/^\[[^]]*\] //')
	log "  $(head -1 kowner.log); before rmmod: $mb; $(grep -E 'OWNERDIED|TIMEOUT' kowner.log | cut -c1-160); after: $ma; $warn"
	if [ $orc = 0 ] && grep -q '^READY holder_tid=0x2' kowner.log && grep -q '^OWNERDIED held=true consistent_after=true' kowner.log \
	   && [ "$ma" = "lock=0x00000000 owner=0 kind=146" ] && [ -n "$warn" ] && [ -z "$(dmesg_bad)" ]; then
		result kowner PASS "kthread held the mutex ($(sed -n 's/^READY \(holder_tid=[^ ]*\).*/\1/p' kowner.log)); rmmod released it as owner-died; the waiting JVM got OwnerDiedException holding it, recovered; rmmod ${t}s"
	else
		result kowner FAIL "rc=$orc before [$mb] after [$ma] warn [$warn] $(tail -2 kowner.log | tr '\n' ' ')"
	fi
	;;
dkms)
	log "scenario dkms"
	unload
	dmesg -C
	if [ -z "${DKMSKO:-}" ] || [ ! -f "$DKMSKO" ]; then result dkms FAIL "dkms build produced no module (see mod-$K/dkms.log)"; continue; fi
	vm=$(modinfo -F vermagic "$DKMSKO" | cut -d' ' -f1)
	insmod $DKMSKO region=$R selftest=pingpong:pp || { result dkms FAIL "insmod $DKMSKO"; continue; }
	$JAVA ping $R pp.ping pp.pong 1000 100 >ping-dkms.log 2>&1
	prc=$?
	t=$(do_rmmod) || { result dkms FAIL "rmmod hung"; continue; }
	if [ $prc = 0 ] && [ "$vm" = "$(uname -r)" ] && [ -z "$(dmesg_bad)" ]; then
		result dkms PASS "module built by dkms add+build from dkms.conf (vermagic $vm) loaded; JVM->kthread 1000 rt $(grep RESULT ping-dkms.log | field p50_ns | sed 's/^/p50_ns=/'); rmmod ${t}s"
	else
		result dkms FAIL "vermagic [$vm] ping rc=$prc $(tail -2 ping-dkms.log | tr '\n' ' ')"
	fi
	;;
kattach)
	log "scenario kattach"
	unload
	dmesg -C
	F=/dev/shm/shmsync.ka
	kt=$(kwords /dev/shm/shmsync.$R)   # after every earlier scenario's detach
	rm -f $F && cp /dev/shm/shmsync.$R $F
	w0=$(kwords $F); g0=${w0#* }; g1=$((g0 + 1))
	insmod $MODKO region=ka || { result kattach FAIL insmod; continue; }
	w1=$(kwords $F)
	st=$(grep '^kernel_' $DBG/ka/status | tr '\n' ' ')
	jk=$($JAVA kattach ka 2>&1 | grep '^KATTACH')
	ju1=$($JAVA unlink ka 2>&1 | grep '^UNLINK')
	ex=0; [ -f $F ] && ex=1
	cp $F /dev/shm/shmsync.kacopy
	cw=$(kwords /dev/shm/shmsync.kacopy)
	al=$(tr '\n' ';' </sys/module/shmsync/parameters/attached)
	want="$(stat -c '%d %i' $F)"
	jc=$($JAVA unlink kacopy 2>&1 | grep '^UNLINK')
	cgone=0; [ -e /dev/shm/shmsync.kacopy ] || cgone=1
	rm -f /dev/shm/shmsync.kacopy
	t=$(do_rmmod) || { result kattach FAIL "rmmod hung"; continue; }
	w2=$(kwords $F)
	ju2=$($JAVA unlink ka 2>&1 | grep '^UNLINK')
	gone=0; [ -e $F ] || gone=1
	log "  $R after earlier scenarios: [$kt]; ka before [$w0] attached [$w1] status [$st] java [$jk] [$ju1] exists=$ex; copy [$cw] attached list [$al] ka is [$want] unlink copy [$jc] gone=$cgone; after rmmod [$w2] [$ju2] gone=$gone"
	if [ "${kt%% *}" = 0 ] && [ "${w0%% *}" = 0 ] && [ "$w1" = "1 $g1" ] \
	   && [ "$st" = "kernel_attach 1 kernel_generation $g1 " ] && [ "$jk" = "KATTACH kernel_attach=1" ] \
	   && echo "$ju1" | grep -q '^UNLINK refused: .*shmsync\.ko' && [ $ex = 1 ] \
	   && [ "${cw%% *}" = 1 ] && [ "$al" = "$want;" ] && [ "$jc" = "UNLINK deleted=true" ] && [ $cgone = 1 ] \
	   && [ "$w2" = "0 $g1" ] && [ "$ju2" = "UNLINK deleted=true" ] && [ $gone = 1 ] && [ -z "$(dmesg_bad)" ]; then
		result kattach PASS "kernel_attach 0->1->0, kernel_generation $g0->$g1; Region.unlink refused while attached (file kept), deleted after rmmod; a cp'd copy (kernel_attach=1 in its header, not in the module's attached list [$al]) unlinked while attached; $R back to kernel_attach=0 after all scenarios"
	else
		result kattach FAIL "$R [$kt] before [$w0] attached [$w1] status [$st] [$jk] [$ju1] exists=$ex copy [$cw] list [$al] want [$want] [$jc] gone=$cgone after [$w2] [$ju2] gone=$gone"
	fi
	rm -f $F
	;;
esac
done
unload
bad=$(dmesg_bad)
[ -n "$bad" ] && result dmesg FAIL "$bad"
log "finished"
