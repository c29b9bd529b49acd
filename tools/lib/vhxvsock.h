/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhxvsock - the userspace "guest driver" side of /dev/vhost-vsock (the host
 * side of virtio-vsock), on top of vhxlib's guest memory and virtqueues.
 * Shared by the vsock selftests (selftests/vsock/).
 *
 * The device has two queues: RX (0, host -> guest, device-writable buffers)
 * and TX (1, guest -> host, device-readable chains).  Every packet is a
 * struct virtio_vsock_hdr (44 bytes, little-endian) followed by hdr.len
 * payload bytes; on RX the device writes one packet per buffer (a large
 * packet spans several buffers, each with its own header).
 *
 * Three layers:
 *  - the device: vhxl_vsock_setup() opens $VHX_VSOCK_DEV (or
 *    /dev/vhost-vsock), SET_OWNER, features (packed, EVENT_IDX, SEQPACKET,
 *    indirect, LOG_ALL, ACCESS_PLATFORM as asked), memory, both rings,
 *    SET_GUEST_CID, RX buffers and SET_RUNNING 1 (or stops before the CID
 *    with .no_start, for fixtures that must set up a log or an IOTLB
 *    first: vhxl_vsock_start() then does the rest);
 *  - packets: vhxl_vsock_post() puts one packet on TX (header and payload
 *    optionally split over descriptors or an indirect table), waiting for
 *    ring space; received packets are pulled off RX into a queue (the RX
 *    buffer is posted again at once unless .no_repost) and handed out raw
 *    by vhxl_vsock_recv_pkt(), or dispatched to connections;
 *  - connections: vhxl_vsock_connect() (guest -> host listener),
 *    vhxl_vsock_accept() (a host socket's REQUEST to a guest port), stream
 *    and seqpacket data within the peer's credit (a CREDIT_REQUEST when it
 *    runs out), our own buf_alloc / fwd_cnt in every header and a
 *    CREDIT_UPDATE as Linux sends one (queue drained, or less than 64 KiB of
 *    space advertised), SHUTDOWN and RST.  Packets no connection claims are
 *    kept on the device's "unmatched" list (REQUESTs for a listener, RSTs
 *    for a closed port, replies after a reset).
 *
 * Nothing here sends a packet while pulling RX buffers, so the send paths
 * may pull RX (to free the device's reply budget) while waiting for TX
 * space.  Single-threaded: one struct vhxl_vsock and its connections
 * belong to one thread.
 *
 * Every function returning int returns 0 (or a non-negative value) on
 * success and -errno on failure unless stated otherwise.
 */
#ifndef VHXVSOCK_H
#define VHXVSOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/virtio_vsock.h>

#include "vhxlib.h"

#define VHX_VSOCK_HDR_LEN	44u	/* sizeof(struct virtio_vsock_hdr) */
#define VHX_VSOCK_HOST_CID	2u
#define VHX_VSOCK_MAX_PKT	65536u	/* largest payload of one packet */
#define VHX_VSOCK_F_SEQPACKET	VHX_BIT(VIRTIO_VSOCK_F_SEQPACKET)

/* Device path: $VHX_VSOCK_DEV or /dev/vhost-vsock. */
const char *vhxl_vsock_dev_path(void);
/* NULL if the device and AF_VSOCK sockets can be used, else a SKIP reason. */
const char *vhxl_vsock_skip_reason(void);
/* Also a reason when the device does not offer packed rings (bit 34). */
const char *vhxl_vsock_skip_packed(void);
/* The device's VHOST_GET_FEATURES (opens it once). */
int vhxl_vsock_offered(uint64_t *features);

struct vhxl_vsock_cfg {
	uint64_t cid;		/* guest CID (0: SET_GUEST_CID not issued) */
	uint64_t features;	/* 0: VERSION_1 plus the flags below */
	bool packed;		/* VIRTIO_F_RING_PACKED */
	bool event_idx;		/* VIRTIO_RING_F_EVENT_IDX */
	bool seqpacket;		/* VIRTIO_VSOCK_F_SEQPACKET */
	bool indirect;		/* VIRTIO_RING_F_INDIRECT_DESC */
	bool log_all;		/* VHOST_F_LOG_ALL */
	bool platform;		/* VIRTIO_F_ACCESS_PLATFORM */
	unsigned num;		/* ring size of both queues (0: 128) */
	size_t rx_buf;		/* RX buffer bytes (0: 4096) */
	size_t tx_buf;		/* TX per-head bytes, header included (0: 4096 + 44) */
	unsigned ind_max;	/* indirect entries per head (0: 8) */
	unsigned rx_nsegs;	/* RX buffers over this many descriptors (0: 1) */
	bool rx_indirect;	/* RX buffers as indirect tables */
	unsigned tx_nsegs;	/* packets of the connection layer (and
				 * vhxl_vsock_post(o = NULL)): descriptors */
	bool tx_hdr_separate;	/* ... the header in its own descriptor */
	bool tx_indirect;	/* ... in an indirect table */
	size_t scratch;		/* guest memory for the caller (v->scratch_gpa) */
	bool identity;		/* gpa == hva (false: GPA base 1 MiB) */
	unsigned nregions;	/* 0: 1 */
	bool no_start;		/* stop before SET_GUEST_CID (vhxl_vsock_start) */
	bool no_rx_fill;	/* start without RX buffers */
	bool no_repost;		/* do not repost RX buffers after use */
	bool no_err_fd;		/* no ERR eventfds */
};

struct vhxl_vsock_pkt {
	struct virtio_vsock_hdr hdr;	/* as written by the device (LE) */
	uint32_t used_len;		/* the used entry's length */
	uint32_t len;			/* payload bytes in data (used_len - 44) */
	uint8_t *data;
	struct vhxl_vsock_pkt *next;
};

struct vhxl_vsock_conn;

struct vhxl_vsock {
	struct vhxl_mem mem;
	struct vhxl_dev dev;
	struct vhxl_vsock_cfg cfg;
	uint64_t cid;		/* as set (SET_GUEST_CID succeeded) */
	bool running;
	uint64_t scratch_gpa;	/* cfg.scratch bytes, page aligned */
	/* pulled RX packets not yet handed out / dispatched */
	struct vhxl_vsock_pkt *q_head, **q_tail;
	unsigned q_len;
	/* packets no connection claimed */
	struct vhxl_vsock_pkt *u_head, **u_tail;
	unsigned u_len;
	struct vhxl_vsock_conn *conns;
	/*
	 * Called whenever the library waits for the device (and as soon as
	 * the device fd is readable): e.g. to answer IOTLB misses.
	 */
	void (*idle)(struct vhxl_vsock *v, void *arg);
	void *idle_arg;
	/* figures */
	unsigned long rx_pkts, tx_pkts, rx_bad;	/* rx_bad: used len < 44 */
	unsigned long rx_bytes, tx_bytes;	/* payload bytes */
	unsigned long u_dropped;		/* unmatched list overflow */
};

/* Device, memory, rings and (unless .no_start) vhxl_vsock_start(). */
int vhxl_vsock_setup(struct vhxl_vsock *v, const struct vhxl_vsock_cfg *c);
void vhxl_vsock_teardown(struct vhxl_vsock *v);
/* SET_GUEST_CID (if cfg.cid), RX buffers (unless no_rx_fill), SET_RUNNING 1. */
int vhxl_vsock_start(struct vhxl_vsock *v);
/* VHOST_VSOCK_SET_GUEST_CID on @fd: 0 or -errno. */
int vhxl_vsock_set_cid_fd(int fd, uint64_t cid);
int vhxl_vsock_set_cid(struct vhxl_vsock *v, uint64_t cid);
int vhxl_vsock_set_running(struct vhxl_vsock *v, int on);
/*
 * SET_RUNNING 0, both rings re-initialised (NUM/BASE/ADDR again), ERR and
 * call eventfds drained, queued packets and connections forgotten, RX
 * buffers posted, SET_RUNNING 1.
 */
int vhxl_vsock_reset(struct vhxl_vsock *v);
/* Post RX buffers until the ring is full; returns the number posted. */
int vhxl_vsock_rx_fill(struct vhxl_vsock *v);

/* ------------------------------------------------------------ packets */

/* A header in wire order (src is the guest unless @src_cid says otherwise). */
void vhxl_vsock_hdr(struct virtio_vsock_hdr *h, uint64_t src_cid,
		    uint32_t src_port, uint64_t dst_cid, uint32_t dst_port,
		    uint16_t type, uint16_t op, uint32_t flags, uint32_t len);
/* Readers of wire fields. */
uint16_t vhxl_vsock_op(const struct virtio_vsock_hdr *h);
const char *vhxl_vsock_op_name(uint16_t op);

struct vhxl_vsock_tx_opts {
	unsigned nsegs;		/* descriptors for header + payload (0: 1) */
	bool hdr_separate;	/* the header in its own descriptor */
	bool indirect;		/* in the head's indirect table */
	bool no_kick;		/* do not kick */
};

/*
 * Put header + @len payload bytes on TX (hdr.len is left as given; @o NULL:
 * the layout of cfg.tx_*), waiting
 * up to @timeout_ms for ring space (pulling RX meanwhile).  Returns the head
 * or -ETIMEDOUT, -EMSGSIZE (larger than a TX buffer).
 */
int vhxl_vsock_post(struct vhxl_vsock *v, const struct virtio_vsock_hdr *h,
		    const void *data, size_t len,
		    const struct vhxl_vsock_tx_opts *o, int timeout_ms);
/* Add a chain built by the caller on TX (raw segments) and kick. */
int vhxl_vsock_post_sg(struct vhxl_vsock *v, const struct vhxl_sg *sg,
		       unsigned n, bool indirect);
/* Reclaim completed TX chains; returns the number reclaimed. */
int vhxl_vsock_tx_reclaim(struct vhxl_vsock *v);
/* Until every TX chain came back (0) or @timeout_ms (-ETIMEDOUT). */
int vhxl_vsock_tx_drain(struct vhxl_vsock *v, int timeout_ms);
/* Move used RX buffers to the packet queue; returns the number pulled. */
int vhxl_vsock_pull(struct vhxl_vsock *v);
/*
 * Wait up to @timeout_ms for device activity (a used entry on RX or TX);
 * returns 1 if there is some, 0 on timeout.
 */
int vhxl_vsock_wait(struct vhxl_vsock *v, int timeout_ms);
/* The next received packet, raw (not dispatched); -ETIMEDOUT. */
int vhxl_vsock_recv_pkt(struct vhxl_vsock *v, struct vhxl_vsock_pkt **p,
			int timeout_ms);
void vhxl_vsock_pkt_free(struct vhxl_vsock_pkt *p);
/* The first packet of the queue (pulled, not handed out yet), or NULL. */
struct vhxl_vsock_pkt *vhxl_vsock_q_pop(struct vhxl_vsock *v);
/* Drop every queued and unmatched packet; returns the number dropped. */
int vhxl_vsock_flush(struct vhxl_vsock *v);

/* -------------------------------------------------------- connections */

enum vhxl_vsock_state {
	VHXL_VS_IDLE, VHXL_VS_CONNECTING, VHXL_VS_ESTABLISHED, VHXL_VS_CLOSED,
};

#define VHXL_VSOCK_MSG_EOR 0x80000000u

struct vhxl_vsock_conn {
	struct vhxl_vsock *v;
	uint16_t type;			/* VIRTIO_VSOCK_TYPE_STREAM / _SEQPACKET */
	uint32_t local_port, peer_port;
	uint64_t peer_cid;
	enum vhxl_vsock_state state;
	bool rst_rcvd;			/* the peer reset the connection */
	bool manual_credit;		/* never send a CREDIT_UPDATE by itself */
	bool no_rst_reply;		/* no RST when the peer shuts down both ways */
	/* our receive side */
	uint32_t buf_alloc;		/* advertised */
	uint32_t fwd_cnt;		/* bytes the application consumed */
	uint32_t last_fwd_sent;		/* fwd_cnt in our last header */
	uint32_t rx_bytes;		/* received, not consumed */
	uint8_t *rxq;			/* received bytes (rxq_off .. + rx_bytes) */
	size_t rxq_cap, rxq_off;
	uint32_t *msgs;			/* seqpacket: complete messages' lengths,
					 * VHXL_VSOCK_MSG_EOR if it had EOR */
	unsigned nmsgs, msgs_cap;
	uint32_t msg_part;		/* bytes of the message being received */
	/* the peer's receive side */
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	uint32_t tx_cnt;		/* payload bytes sent */
	uint32_t peer_shutdown;		/* VIRTIO_VSOCK_SHUTDOWN_* received */
	uint32_t our_shutdown;		/* sent */
	/* figures */
	unsigned long pkts_rx, pkts_tx;
	unsigned long credit_requests;	/* CREDIT_REQUESTs we sent */
	unsigned long credit_updates_tx;	/* CREDIT_UPDATEs we sent */
	unsigned long credit_updates_rx;	/* CREDIT_UPDATEs the peer sent */
	unsigned long credit_stalls;	/* times the send path found no credit */
	unsigned long overruns;		/* RW beyond our buf_alloc */
	unsigned long unexpected;	/* packets that make no sense here */
	struct vhxl_vsock_conn *next;
};

/* Prepare a connection (not registered yet).  @buf_alloc 0: 256 KiB. */
void vhxl_vsock_conn_init(struct vhxl_vsock *v, struct vhxl_vsock_conn *c,
			  uint16_t type, uint32_t local_port, uint32_t buf_alloc);
/* Unregister and free its buffers (sends nothing). */
void vhxl_vsock_conn_fini(struct vhxl_vsock_conn *c);
/*
 * Send a REQUEST to (@peer_cid, @peer_port) and wait for the RESPONSE: 0,
 * -ECONNRESET (RST), -ETIMEDOUT, -EPROTO (another op).
 */
int vhxl_vsock_connect(struct vhxl_vsock_conn *c, uint64_t peer_cid,
		       uint32_t peer_port, int timeout_ms);
/*
 * Wait for a REQUEST to the prepared connection's local port (type must
 * match) and answer RESPONSE: 0 or -ETIMEDOUT.
 */
int vhxl_vsock_accept(struct vhxl_vsock_conn *c, int timeout_ms);
/*
 * Take the first unmatched packet with @op (and @dst_port unless 0) off the
 * unmatched list, waiting up to @timeout_ms; NULL on timeout.
 */
struct vhxl_vsock_pkt *vhxl_vsock_expect(struct vhxl_vsock *v, uint16_t op,
					 uint32_t dst_port, int timeout_ms);
/* Answer a packet with an RST (swapped addresses, its type). */
int vhxl_vsock_reply_rst(struct vhxl_vsock *v, const struct vhxl_vsock_pkt *p);
/*
 * Pull and dispatch packets for up to @timeout_ms or until one arrived
 * (timeout 0: what is there).  Returns the number dispatched.
 */
int vhxl_vsock_poll(struct vhxl_vsock *v, int timeout_ms);

/*
 * Stream: send @len bytes within the peer's credit (CREDIT_REQUEST when it
 * runs out, again every 500 ms of stall); returns @len, or the bytes sent
 * before -ETIMEDOUT / -ECONNRESET / -EPIPE (when none were).
 */
ssize_t vhxl_vsock_send(struct vhxl_vsock_conn *c, const void *buf,
			size_t len, int timeout_ms);
/* Seqpacket: one message (EOM on its last packet, EOR if @eor). */
ssize_t vhxl_vsock_send_msg(struct vhxl_vsock_conn *c, const void *buf,
			    size_t len, bool eor, int timeout_ms);
/*
 * Stream: receive up to @len bytes (at least one); 0 at EOF (peer sent
 * SHUTDOWN SEND and nothing is queued); -ETIMEDOUT, -ECONNRESET.
 */
ssize_t vhxl_vsock_recv(struct vhxl_vsock_conn *c, void *buf, size_t len,
			int timeout_ms);
/*
 * Seqpacket: the next whole message; copies at most @cap bytes, returns its
 * full length (*eor: it carried EOR).  -ETIMEDOUT, -ECONNRESET, 0 at EOF.
 */
ssize_t vhxl_vsock_recv_msg(struct vhxl_vsock_conn *c, void *buf, size_t cap,
			    bool *eor, int timeout_ms);
/* Control packets with our credit: op, flags. */
int vhxl_vsock_send_ctl(struct vhxl_vsock_conn *c, uint16_t op, uint32_t flags);
int vhxl_vsock_credit_update(struct vhxl_vsock_conn *c);
int vhxl_vsock_credit_request(struct vhxl_vsock_conn *c);
int vhxl_vsock_shutdown(struct vhxl_vsock_conn *c, uint32_t flags);
int vhxl_vsock_rst(struct vhxl_vsock_conn *c);
/* Credit the peer gives us now. */
uint32_t vhxl_vsock_peer_credit(const struct vhxl_vsock_conn *c);

#endif /* VHXVSOCK_H */
