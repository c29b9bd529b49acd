/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vsock_common.h - what the files of vsock_test share: CIDs and ports that
 * no other test uses, the byte pattern of the streams, AF_VSOCK host
 * sockets (listen, non-blocking connect, accept, buffer size), a host
 * thread that sends or receives a pattern stream, the target under test
 * and its module, and the debugfs counters of a vhx device.
 */
#ifndef VHX_VSOCK_COMMON_H
#define VHX_VSOCK_COMMON_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <linux/vm_sockets.h>

#include "harness.h"
#include "vhxvsock.h"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

#define WAIT_MS 5000		/* generous cap on anything the VM must do */

/* ---------------------------------------------------------- identities */

/* A CID and ports of this test process (pid based, distinct per call). */
uint32_t vt_cid(void);
uint32_t vt_port(void);

/* "intree" or "vhx" (VHX_TARGET, default vhx). */
bool vt_intree(void);
/* The module that holds /dev/vhost-vsock: vhost_vsock or vhx_vsock. */
const char *vt_module(void);
/* /sys/module/MOD/refcnt of vt_module(), -1 if unreadable. */
int vt_module_refcnt(void);
long long vt_now_ms(void);

/* ------------------------------------------------------------- pattern */

/* The stream bytes: a function of the offset alone. */
void pat_fill(uint8_t *b, uint64_t off, size_t len);
/* -1, or the offset (from @off) of the first byte that differs. */
long long pat_check(const uint8_t *b, uint64_t off, size_t len);

/* -------------------------------------------------------- host sockets */

/* SO_VM_SOCKETS_BUFFER_SIZE (with its min/max made room for): 0 / -errno. */
int host_bufsize(int fd, uint64_t size);
/* A listener on (VMADDR_CID_ANY, @port), SOCK_STREAM or SOCK_SEQPACKET. */
int host_listen(uint32_t port, int type, uint64_t bufsize);
/*
 * Start a connect() to (@cid, @port) in a thread: the fd (connect in
 * progress; up to 16 at a time).  host_connect_wait() must follow.
 */
int host_connect_nb(uint32_t cid, uint32_t port, int type, uint64_t bufsize);
/* Wait for that connect(): 0 or -errno (-ETIMEDOUT: given up). */
int host_connect_wait(int fd, int timeout_ms);
/* accept() within @timeout_ms: the fd or -errno (-ETIMEDOUT). */
int host_accept(int lfd, int timeout_ms);
/* Is a connection waiting on @lfd (poll, no accept)? */
bool host_pending(int lfd, int timeout_ms);
/* Read until EOF, error or @timeout_ms; bytes in *n (first @cap kept). */
int host_drain(int fd, uint8_t *buf, size_t cap, size_t *n, int timeout_ms);
int host_set_timeo(int fd, int opt, int ms);

/* ------------------------------------------------------- host threads */

enum hjob_op { HJ_SEND, HJ_RECV, HJ_CLOSE };

/* A host-side job in a thread: send or receive @len pattern bytes (from
 * pattern offset @off), or close() (the time it took is the figure). */
struct hjob {
	pthread_t th;
	int fd;
	enum hjob_op op;
	uint64_t len, off;
	size_t chunk;		/* per send()/recv() (0: 64 KiB) */
	/* results */
	uint64_t done;		/* bytes sent / received */
	int err;		/* errno of the call that failed, 0 */
	long long bad;		/* first wrong byte's stream offset, -1 */
	bool eof;		/* recv() returned 0 */
	long long ms;		/* how long it took */
	volatile int finished;
};

int hjob_start(struct hjob *j);
/* Join within @timeout_ms: 0, or -ETIMEDOUT (the thread is cancelled). */
int hjob_join(struct hjob *j, int timeout_ms);

/* ----------------------------------------------------- device helpers */

/* Guest side of a stream: receive @len pattern bytes (from pattern offset
 * @off) from @c; *bad: the first wrong byte's offset in the stream, -1. */
int guest_recv_pattern(struct vhxl_vsock_conn *c, uint64_t off, uint64_t len,
		       long long *bad, int timeout_ms);

/* The state of both rings, for the log when something timed out. */
void vt_ring_state(struct vhxl_vsock *v, char *out, size_t len);
#define LOG_RINGS(v) do {						\
		char _s[2048];						\
		unsigned _q;						\
									\
		vt_ring_state((v), _s, sizeof(_s));			\
		TH_LOG("%s", _s);					\
		for (_q = 0; !vt_intree() && _q < 2; _q++) {		\
			vt_vq_line(getpid(), _q, _s, sizeof(_s));	\
			TH_LOG("%s", _s);				\
		}							\
	} while (0)

/* Connect to a host port / accept a host connection, or fail the test
 * with the rings' state in the log. */
#define CONNECT_OK(c, port) do {					\
		int _r = vhxl_vsock_connect((c), VHX_VSOCK_HOST_CID, (port), WAIT_MS); \
									\
		if (_r) {						\
			TH_LOG("connect to host port %u: %s", (port), strerror(-_r)); \
			LOG_RINGS((c)->v);				\
		}							\
		ASSERT_EQ(0, _r);					\
	} while (0)
#define ACCEPT_OK(c) do {						\
		int _r = vhxl_vsock_accept((c), WAIT_MS);		\
									\
		if (_r) {						\
			TH_LOG("accept on guest port %u: %s", (c)->local_port, strerror(-_r)); \
			LOG_RINGS((c)->v);				\
		}							\
		ASSERT_EQ(0, _r);					\
	} while (0)

/*
 * The debugfs line of queue @q ("vq dev=ID idx=Q ...") of the vhx device
 * whose owner is @owner: the value of @key, or -1.  kind_out (may be
 * NULL) gets the "kind=" of the device line.
 */
long long vt_vq_counter(pid_t owner, unsigned q, const char *key,
			char *kind_out, size_t kind_len);
/* The whole "vq" line of that queue (for the log), "" if none. */
void vt_vq_line(pid_t owner, unsigned q, char *out, size_t len);

#endif
