/* SPDX-License-Identifier: GPL-2.0 */
/* vhx core: devices, virtqueues, notification and the ring walk. */
#ifndef _VHX_CORE_H
#define _VHX_CORE_H

#include <linux/bits.h>
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/uio.h>
#include <linux/vhost.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "mem.h"
#include "worker.h"

/*
 * Feature bits every vhx device offers (the vhost core set).  Packed rings
 * are implemented entirely under the virtqueue API (vq_packed.c), so every
 * device gets them.
 */
#define VHX_FEATURES (BIT_ULL(VIRTIO_F_NOTIFY_ON_EMPTY) | \
		      BIT_ULL(VIRTIO_RING_F_INDIRECT_DESC) | \
		      BIT_ULL(VIRTIO_RING_F_EVENT_IDX) | \
		      BIT_ULL(VHOST_F_LOG_ALL) | \
		      BIT_ULL(VIRTIO_F_ANY_LAYOUT) | \
		      BIT_ULL(VIRTIO_F_VERSION_1) | \
		      BIT_ULL(VIRTIO_F_RING_PACKED))

/* Module parameter of vhx_core: IOTLB size per device. */
extern int vhx_max_iotlb_entries;

/* Bytes of a dirty-log page and of the used ring's header and trailer. */
#define VHX_LOG_PAGE 0x1000ULL

struct vhx_dev;
struct vhx_vq;
struct vhx_vq_ops;
struct vhx_vq_packed;

/* A wait-queue hook on a file (kick eventfd or backend socket). */
struct vhx_poll {
	poll_table table;
	wait_queue_head_t *wqh;
	wait_queue_entry_t wait;
	struct vhx_work work;
	__poll_t mask;
	struct vhx_dev *dev;
	struct vhx_vq *vq;	/* queue on this vq's worker, if set */
};

void vhx_poll_init(struct vhx_poll *poll, vhx_work_fn_t fn, __poll_t mask,
		   struct vhx_dev *dev);
int vhx_poll_start(struct vhx_poll *poll, struct file *file);
void vhx_poll_stop(struct vhx_poll *poll);
void vhx_poll_queue(struct vhx_poll *poll);

/* Per-queue counters; written under the vq mutex, read racily. */
struct vhx_vq_stats {
	u64 packets;
	u64 bytes;
	u64 kicks;
	u64 calls;
	u64 runs;
	u64 requeues;
	u64 errors;
	u64 iotlb_misses;
};

/* A dirty-log entry: a guest-physical range written by the device. */
struct vhx_log {
	u64 addr;
	u64 len;
};

struct vhx_vq {
	struct vhx_dev *dev;
	/* Protects every field below; the worker holds it while handling. */
	struct mutex mutex;

	unsigned int num;
	u64 desc_addr;		/* user VA, or IOVA with the device IOTLB */
	u64 avail_addr;
	u64 used_addr;
	u64 log_addr;		/* GPA of the used ring for dirty logging */
	bool log_used;

	struct file *kick;
	struct eventfd_ctx *call_ctx;
	struct eventfd_ctx *error_ctx;
	struct eventfd_ctx *log_ctx;
	struct vhx_poll poll;
	vhx_work_fn_t handle_kick;
	/*
	 * The vq's own worker (vhx_dev_add_vq_worker()), NULL to share the
	 * device's.  Set under dev->mutex by the owner, read locklessly by
	 * wakeups; stays until vhx_dev_cleanup().
	 */
	struct vhx_worker *worker;

	/*
	 * The ring layout in use: set from the negotiated features when a
	 * backend is attached (vhx_vq_start()), split otherwise.
	 */
	const struct vhx_vq_ops *ops;
	/*
	 * Split: free-running indices.  Packed: ring positions in [0, num)
	 * and the wrap counters that go with them.
	 */
	u16 last_avail_idx;	/* next avail entry to process */
	u16 avail_idx;		/* split: last avail->idx read from the guest */
	u16 last_used_idx;	/* next used entry to write */
	bool last_avail_wrap;	/* packed: driver wrap counter expected */
	bool last_used_wrap;	/* packed: device wrap counter */
	u16 used_flags;		/* split: used->flags; packed: device event flags */
	u16 signalled_used;	/* split: used idx at the last signal */
	bool signalled_used_valid;
	struct vhx_vq_packed *packed;	/* packed: per-buffer-id state */
	bool broken;		/* vq error: stopped until reset */
	bool iotlb_wait;	/* a miss is outstanding */

	struct iovec *iov;
	struct iovec *indirect;
	struct vhx_log *log;
	struct vring_used_elem *heads;
	unsigned int log_max;

	struct vhx_maps *umem;
	struct vhx_maps *iotlb;
	u64 log_base;

	void *private_data;	/* backend, NULL when detached */
	u64 acked_features;
	u64 acked_backend_features;
	u32 busyloop_timeout;
	struct vhx_vq_stats stats;
};

struct seq_file;

/* What a device kind tells the core about itself (for the counters). */
struct vhx_dev_ops {
	const char *kind;			/* "net", "blk" */
	const char *(*vq_name)(int idx);
	/* Print the backend of @vq (no spaces); vq->mutex is held. */
	void (*show_backend)(struct seq_file *m, struct vhx_vq *vq);
};

struct vhx_dev {
	struct mm_struct *mm;	/* owner; mm_users held */
	pid_t owner_pid;
	struct mutex mutex;	/* outer lock: device ioctls; then vq->mutex */
	struct vhx_vq **vqs;
	int nvqs;
	struct eventfd_ctx *log_ctx;
	struct vhx_maps *umem;
	struct vhx_maps *iotlb;
	spinlock_t msg_lock;	/* protects read_list and pending_list */
	struct list_head read_list;
	struct list_head pending_list;
	wait_queue_head_t wait;
	struct vhx_worker *worker;
	int iov_limit;
	int weight;
	int byte_weight;
	const struct vhx_dev_ops *ops;
	unsigned int id;	/* stable for the fd's lifetime */
	struct list_head node;	/* on the registry, while owned */
};

/* Guest-triggered errors: rate-limited debug log, ERR eventfd, stop. */
void vhx_vq_fail(struct vhx_vq *vq);
#define vhx_vq_err(vq, fmt, ...) do {					\
		pr_debug_ratelimited(pr_fmt(fmt), ##__VA_ARGS__);	\
		vhx_vq_fail(vq);					\
	} while (0)

static inline bool vhx_has_feature(const struct vhx_vq *vq, int bit)
{
	return vq->acked_features & (1ULL << bit);
}

static inline bool vhx_backend_has_feature(const struct vhx_vq *vq, int bit)
{
	return vq->acked_backend_features & (1ULL << bit);
}

static inline void *vhx_vq_get_backend(struct vhx_vq *vq)
{
	return vq->private_data;
}

static inline void vhx_vq_set_backend(struct vhx_vq *vq, void *data)
{
	vq->private_data = data;
}

/* core.c: device life cycle and device ioctls.  Caller holds dev->mutex
 * unless stated otherwise.
 */
void vhx_dev_init(struct vhx_dev *dev, struct vhx_vq **vqs, int nvqs,
		  int iov_limit, int weight, int byte_weight,
		  const struct vhx_dev_ops *ops);
bool vhx_dev_has_owner(struct vhx_dev *dev);
long vhx_dev_check_owner(struct vhx_dev *dev);
long vhx_dev_set_owner(struct vhx_dev *dev);
struct vhx_maps *vhx_dev_reset_owner_prepare(void);
void vhx_dev_reset_owner(struct vhx_dev *dev, struct vhx_maps *umem);
void vhx_dev_stop(struct vhx_dev *dev);
void vhx_dev_cleanup(struct vhx_dev *dev);
void vhx_dev_flush(struct vhx_dev *dev);
long vhx_dev_ioctl(struct vhx_dev *dev, unsigned int ioctl,
		   void __user *argp);
long vhx_features_ioctl(struct vhx_dev *dev, unsigned int ioctl,
			void __user *argp, u64 offered, u64 backend_offered,
			long (*set)(struct vhx_dev *dev, u64 features));
/* Takes the device mutex itself. */
long vhx_dev_vring_ioctl(struct vhx_dev *dev, unsigned int ioctl,
			 void __user *argp);
bool vhx_log_access_ok(struct vhx_dev *dev);
void vhx_set_backend_features(struct vhx_dev *dev, u64 features);
bool vhx_work_queue(struct vhx_dev *dev, struct vhx_work *work);
bool vhx_vq_work_queue(struct vhx_vq *vq, struct vhx_work *work);
bool vhx_has_work(struct vhx_dev *dev);
bool vhx_vq_has_work(struct vhx_vq *vq);
int vhx_dev_add_vq_worker(struct vhx_dev *dev, struct vhx_vq *vq);
void vhx_vq_flush(struct vhx_vq *vq);
bool vhx_vq_busy_poll(struct vhx_vq *vq, bool (*ready)(struct vhx_vq *vq));

/* stats.c: the device registry and its debugfs view. */
void vhx_dev_register(struct vhx_dev *dev);
void vhx_dev_unregister(struct vhx_dev *dev);
int vhx_stats_init(void);
void vhx_stats_exit(void);

/* vring.c: the per-vq ioctls. */
long vhx_vring_ioctl(struct vhx_dev *dev, unsigned int ioctl,
		     void __user *argp);
bool vhx_vq_access_ok(struct vhx_vq *vq);
int vhx_vq_init_access(struct vhx_vq *vq);
void vhx_vq_reset(struct vhx_dev *dev, struct vhx_vq *vq);

/* iotlb.c: the device IOTLB and its message channel.  */
int vhx_init_device_iotlb(struct vhx_dev *dev);
void vhx_iotlb_miss(struct vhx_vq *vq, u64 iova, int access);
void vhx_clear_msg(struct vhx_dev *dev);
ssize_t vhx_chr_read_iter(struct vhx_dev *dev, struct iov_iter *to,
			  int noblock);
ssize_t vhx_chr_write_iter(struct vhx_dev *dev, struct iov_iter *from);
__poll_t vhx_chr_poll(struct file *file, struct vhx_dev *dev,
		      poll_table *wait);

/*
 * vq.c: the virtqueue API, for split and packed rings alike.  Caller holds
 * vq->mutex.  vhx_get_vq_desc() returns the chain's head (split) or buffer
 * id (packed), vq->num when nothing is available, or a negative errno;
 * vhx_add_used_n() takes those ids back in any order.
 */
int vhx_vq_start(struct vhx_vq *vq);
bool vhx_vq_num_ok(const struct vhx_vq *vq, unsigned int num);
bool vhx_vq_is_packed(const struct vhx_vq *vq);
int vhx_vq_set_base(struct vhx_vq *vq, u32 base);
u32 vhx_vq_get_base(const struct vhx_vq *vq);
u64 vhx_vq_used_log_size(const struct vhx_vq *vq);
int vhx_translate(struct vhx_vq *vq, u64 addr, u64 len, struct iovec iov[],
		  int iov_size, int access);
int vhx_get_vq_desc(struct vhx_vq *vq, struct iovec iov[],
		    unsigned int iov_size, unsigned int *out_num,
		    unsigned int *in_num, struct vhx_log *log,
		    unsigned int *log_num);
void vhx_discard_vq_desc(struct vhx_vq *vq, int n);
int vhx_add_used(struct vhx_vq *vq, unsigned int head, int len);
int vhx_add_used_n(struct vhx_vq *vq, struct vring_used_elem *heads,
		   unsigned int count);
void vhx_signal(struct vhx_vq *vq);
void vhx_add_used_and_signal_n(struct vhx_vq *vq,
			       struct vring_used_elem *heads,
			       unsigned int count);
bool vhx_enable_notify(struct vhx_vq *vq);
void vhx_disable_notify(struct vhx_vq *vq);
bool vhx_vq_avail_empty(struct vhx_vq *vq);
bool vhx_exceeds_weight(struct vhx_vq *vq, int pkts, int total_len);
int vhx_vq_update_used_flags(struct vhx_vq *vq);

/* log.c: dirty logging for live migration. */
int vhx_log_write(struct vhx_vq *vq, struct vhx_log *log,
		  unsigned int log_num, u64 len, struct iovec *iov,
		  int count);
int vhx_log_used(struct vhx_vq *vq, u64 offset, u64 len);
int vhx_log_ring(struct vhx_vq *vq, u64 addr, u64 len);
bool vhx_log_range_ok(u64 log_base, u64 addr, u64 size);

#endif /* _VHX_CORE_H */
