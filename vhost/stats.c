// SPDX-License-Identifier: GPL-2.0
/*
 * The registry of owned devices and its read-only debugfs view,
 * /sys/kernel/debug/vhx/devices (root only).  One line per device and one
 * per virtqueue, as space-separated key=value pairs:
 *
 *   dev id= kind= owner= worker= features= backend_features= iotlb= nvqs=
 *   vq dev= idx= name= num= backend= [blk: inflight= punted= bounced=]
 *      [vsock: conns= rsts= credit_requests= g2g= drops=]
 *      broken= last_avail= last_used=
 *      layout=split|packed [avail_wrap= used_wrap= (packed)]
 *      packets= bytes= kicks= calls= runs= requeues= errors= iotlb_misses=
 *      worker=
 *
 * Keys are only ever added, never renamed or removed.  backend= is the
 * backend as it was named when attached ("-": none).
 *
 * Locking: vhx_devices_lock protects the list; a device stays registered
 * from SET_OWNER until its cleanup, which unregisters before tearing down,
 * so every device on the list is alive.  The reader never takes a vq's
 * mutex: a tenant's handler can hold it for as long as the owner's memory
 * makes it wait (a page that faults and is never served), and a reader
 * stuck behind it would hold vhx_devices_lock, which every other tenant's
 * SET_OWNER and close take.  Counters and indices are read racily, as they
 * may always be; the backend's name was taken when it was attached.
 */

#include <linux/debugfs.h>
#include <linux/mutex.h>
#include <linux/nospec.h>
#include <linux/seq_file.h>

#include "stats.h"
#include "vq.h"

static LIST_HEAD(vhx_devices);
static DEFINE_MUTEX(vhx_devices_lock);
static struct dentry *vhx_debugfs;

void vhx_dev_register(struct vhx_dev *dev)
{
	mutex_lock(&vhx_devices_lock);
	list_add_tail(&dev->node, &vhx_devices);
	mutex_unlock(&vhx_devices_lock);
}
EXPORT_SYMBOL_GPL(vhx_dev_register);

void vhx_dev_unregister(struct vhx_dev *dev)
{
	mutex_lock(&vhx_devices_lock);
	list_del_init(&dev->node);
	mutex_unlock(&vhx_devices_lock);
}
EXPORT_SYMBOL_GPL(vhx_dev_unregister);

/*
 * One queue as both readers give it: what needs no owner (read racily,
 * never under the vq mutex) ...
 */
static void vhx_vq_read(struct vhx_dev *dev, unsigned int idx,
			struct vhx_queue_stats *st)
{
	struct vhx_vq *vq = dev->vqs[idx], *vq0 = dev->vqs[0];
	const struct vhx_vq_stats *c = &vq->stats;

	memset(st, 0, sizeof(*st));
	st->index = idx;
	st->nvqs = dev->nvqs;
	st->dev_id = dev->id;
	st->num = READ_ONCE(vq->num);
	strscpy(st->kind, dev->ops->kind, sizeof(st->kind));
	strscpy(st->name, dev->ops->vq_name ? dev->ops->vq_name(idx) : "vq",
		sizeof(st->name));
	spin_lock(&vq->name_lock);
	strscpy(st->backend, vq->backend_name, sizeof(st->backend));
	spin_unlock(&vq->name_lock);
	st->last_avail = READ_ONCE(vq->last_avail_idx);
	st->last_used = READ_ONCE(vq->last_used_idx);
	st->features = READ_ONCE(vq0->acked_features);
	st->backend_features = READ_ONCE(vq0->acked_backend_features);
	if (READ_ONCE(vq->broken))
		st->flags |= VHX_QSTATS_F_BROKEN;
	if (vhx_vq_is_packed(vq))
		st->flags |= VHX_QSTATS_F_PACKED;
	st->packets = READ_ONCE(c->packets);
	st->bytes = READ_ONCE(c->bytes);
	st->kicks = READ_ONCE(c->kicks);
	st->calls = READ_ONCE(c->calls);
	st->runs = READ_ONCE(c->runs);
	st->requeues = READ_ONCE(c->requeues);
	st->errors = READ_ONCE(c->errors);
	st->iotlb_misses = READ_ONCE(c->iotlb_misses);
}

/* ... and what only a registered (owned) device has: its worker lives. */
static void vhx_vq_read_owned(struct vhx_dev *dev, unsigned int idx,
			      struct vhx_queue_stats *st)
{
	struct vhx_vq *vq = dev->vqs[idx];
	struct vhx_worker *worker = READ_ONCE(vq->worker);

	lockdep_assert_held(&vhx_devices_lock);
	st->flags |= VHX_QSTATS_F_OWNED;
	st->owner_pid = dev->owner_pid;
	st->worker_pid = vhx_worker_pid(worker ? worker : dev->worker);
	if (READ_ONCE(dev->iotlb))
		st->flags |= VHX_QSTATS_F_IOTLB;
	if (READ_ONCE(vq->private_data)) {
		st->flags |= VHX_QSTATS_F_BACKEND;
		if (dev->ops->backend_stats)
			dev->ops->backend_stats(vq, st);
	}
}

static void vhx_show_vq(struct seq_file *m, struct vhx_dev *dev, int idx)
{
	struct vhx_vq *vq = dev->vqs[idx];
	struct vhx_queue_stats st;

	vhx_vq_read(dev, idx, &st);
	vhx_vq_read_owned(dev, idx, &st);
	seq_printf(m, "vq dev=%u idx=%d name=%s num=%u backend=%s", st.dev_id,
		   idx, st.name, st.num, st.backend);
	if (st.flags & VHX_QSTATS_F_BLK)
		seq_printf(m, " inflight=%llu punted=%llu bounced=%llu",
			   st.blk_inflight, st.blk_punted, st.blk_bounced);
	if (st.flags & VHX_QSTATS_F_VSOCK)
		seq_printf(m, " conns=%llu rsts=%llu credit_requests=%llu g2g=%llu drops=%llu",
			   st.vsock_conns, st.vsock_rsts,
			   st.vsock_credit_requests, st.vsock_g2g,
			   st.vsock_drops);
	seq_printf(m, " broken=%d last_avail=%u last_used=%u",
		   !!(st.flags & VHX_QSTATS_F_BROKEN), st.last_avail,
		   st.last_used);
	if (st.flags & VHX_QSTATS_F_PACKED)
		seq_printf(m, " layout=packed avail_wrap=%d used_wrap=%d",
			   READ_ONCE(vq->last_avail_wrap),
			   READ_ONCE(vq->last_used_wrap));
	else
		seq_puts(m, " layout=split");
	seq_printf(m, " packets=%llu bytes=%llu kicks=%llu calls=%llu runs=%llu requeues=%llu errors=%llu iotlb_misses=%llu",
		   st.packets, st.bytes, st.kicks, st.calls, st.runs,
		   st.requeues, st.errors, st.iotlb_misses);
	seq_printf(m, " worker=%d\n", st.worker_pid);
}

static int vhx_devices_show(struct seq_file *m, void *v)
{
	struct vhx_dev *dev;
	int i;

	mutex_lock(&vhx_devices_lock);
	list_for_each_entry(dev, &vhx_devices, node) {
		struct vhx_vq *vq0 = dev->vqs[0];

		seq_printf(m, "dev id=%u kind=%s owner=%d worker=%d features=0x%llx backend_features=0x%llx iotlb=%d nvqs=%d\n",
			   dev->id, dev->ops->kind, dev->owner_pid,
			   vhx_worker_pid(dev->worker),
			   READ_ONCE(vq0->acked_features),
			   READ_ONCE(vq0->acked_backend_features),
			   !!READ_ONCE(dev->iotlb), dev->nvqs);
		for (i = 0; i < dev->nvqs; i++)
			vhx_show_vq(m, dev, i);
	}
	mutex_unlock(&vhx_devices_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vhx_devices);

/*
 * VHX_GET_QUEUE_STATS: one queue as debugfs shows it, for whoever holds the
 * device's fd.  Takes vhx_devices_lock (a device on the registry has its
 * worker), never a vq mutex; like the debugfs reader, it only reads.
 */
long vhx_vq_stats_ioctl(struct vhx_dev *dev, void __user *argp)
{
	struct vhx_queue_stats st;
	u32 index;

	if (get_user(index, (u32 __user *)argp))
		return -EFAULT;
	if (index >= dev->nvqs)
		return -ENOBUFS;
	index = array_index_nospec(index, dev->nvqs);
	vhx_vq_read(dev, index, &st);
	mutex_lock(&vhx_devices_lock);
	if (!list_empty(&dev->node))
		vhx_vq_read_owned(dev, index, &st);
	mutex_unlock(&vhx_devices_lock);
	return copy_to_user(argp, &st, sizeof(st)) ? -EFAULT : 0;
}
EXPORT_SYMBOL_GPL(vhx_vq_stats_ioctl);

int vhx_stats_init(void)
{
	/* debugfs is optional: without it vhx works, uncounted. */
	vhx_debugfs = debugfs_create_dir("vhx", NULL);
	debugfs_create_file("devices", 0400, vhx_debugfs, NULL,
			    &vhx_devices_fops);
	return 0;
}

void vhx_stats_exit(void)
{
	debugfs_remove_recursive(vhx_debugfs);
}
