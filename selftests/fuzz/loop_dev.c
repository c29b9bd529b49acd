// SPDX-License-Identifier: GPL-2.0
/*
 * loop_dev.c - the device half of loop_test: the module's ring walk
 * (vhost/vq*.c, log.c, access.c, mem.c through shim/) behind a
 * small C API, so that loop_test.c can drive it with tools/lib/vhxlib's
 * guest driver in the same process (the two halves cannot share a
 * translation unit: the module's files build against the kernel shim,
 * the guest driver against the C library's own headers).
 */
#include "kshim.h"
#include "vq.h"
#include "vq_split.h"
#include "loop.h"

#define LOOP_IOV 1088

struct devq {
	struct vhx_dev dev;
	struct vhx_vq vq;
	struct vhx_vq *vqs[1];
	struct eventfd_ctx call, err;
};

struct devq *devq_new(void *mem, size_t size, bool packed, bool event_idx,
		      unsigned int num, u64 desc, u64 avail, u64 used, u32 base)
{
	struct devq *d = calloc(1, sizeof(*d));

	if (!d)
		abort();
	shim_user_reset();
	shim_user_map(mem, size);
	d->vqs[0] = &d->vq;
	d->dev.vqs = d->vqs;
	d->dev.nvqs = 1;
	d->dev.iov_limit = LOOP_IOV;
	d->dev.weight = 256;
	d->vq.dev = &d->dev;
	d->vq.iov = kmalloc_array(LOOP_IOV, sizeof(struct iovec), 0);
	d->vq.indirect = kmalloc_array(UIO_MAXIOV, sizeof(struct iovec), 0);
	d->vq.log_max = LOOP_IOV;
	d->vq.umem = vhx_maps_alloc(1);
	if (!d->vq.iov || !d->vq.indirect || !d->vq.umem)
		abort();
	/* identity map: GPA == HVA */
	if (vhx_maps_add(d->vq.umem, (uintptr_t)mem, (uintptr_t)mem + size - 1,
			 (uintptr_t)mem, VHX_MAP_RW, false))
		abort();
	d->vq.ops = &vhx_split_ops;
	d->vq.last_avail_wrap = d->vq.last_used_wrap = true;
	d->vq.acked_features = BIT_ULL(VIRTIO_F_VERSION_1) |
		BIT_ULL(VIRTIO_RING_F_INDIRECT_DESC) |
		(event_idx ? BIT_ULL(VIRTIO_RING_F_EVENT_IDX) : 0) |
		(packed ? BIT_ULL(VIRTIO_F_RING_PACKED) : 0);
	d->vq.num = num;
	d->vq.desc_addr = desc;
	d->vq.avail_addr = avail;
	d->vq.used_addr = used;
	d->vq.call_ctx = &d->call;
	d->vq.error_ctx = &d->err;
	if (vhx_vq_set_base(&d->vq, base))
		abort();
	d->vq.private_data = d;		/* "a backend is attached" */
	if (vhx_vq_start(&d->vq)) {
		fprintf(stderr, "loop: vhx_vq_start failed\n");
		abort();
	}
	return d;
}

void devq_free(struct devq *d)
{
	vhx_vq_free_layouts(&d->vq);
	vhx_maps_free(d->vq.umem);
	kfree(d->vq.iov);
	kfree(d->vq.indirect);
	free(d);
}

/* A chain: its id, the bytes of its out and in parts; -1 empty, -2 error. */
int devq_get(struct devq *d, size_t *out_bytes, size_t *in_bytes)
{
	unsigned int out, in;
	int head = vhx_get_vq_desc(&d->vq, d->vq.iov, LOOP_IOV, &out, &in,
				   NULL, NULL);

	if (head < 0)
		return -2;
	if ((unsigned int)head == d->vq.num)
		return -1;
	*out_bytes = iov_length(d->vq.iov, out);
	*in_bytes = iov_length(d->vq.iov + out, in);
	return head;
}

int devq_used(struct devq *d, const unsigned int *ids, const unsigned int *lens,
	      unsigned int n)
{
	struct vring_used_elem e[64];
	unsigned int i;

	if (n > 64)
		abort();
	for (i = 0; i < n; i++) {
		e[i].id = ids[i];
		e[i].len = lens[i];
	}
	return vhx_add_used_n(&d->vq, e, n);
}

/* Signal decision: true if the call eventfd was signalled. */
bool devq_signal(struct devq *d)
{
	u64 before = d->call.count;

	vhx_signal(&d->vq);
	return d->call.count != before;
}

bool devq_enable(struct devq *d)
{
	return vhx_enable_notify(&d->vq);
}

void devq_disable(struct devq *d)
{
	vhx_disable_notify(&d->vq);
}

void devq_discard(struct devq *d, int n)
{
	vhx_discard_vq_desc(&d->vq, n);
}

bool devq_empty(struct devq *d)
{
	return vhx_vq_avail_empty(&d->vq);
}

bool devq_broken(struct devq *d)
{
	return d->vq.broken;
}

u32 devq_base(struct devq *d)
{
	return vhx_vq_get_base(&d->vq);
}
