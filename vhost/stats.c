// SPDX-License-Identifier: GPL-2.0
/*
 * The registry of owned devices and its read-only debugfs view,
 * /sys/kernel/debug/vhx/devices (root only).  One line per device and one
 * per virtqueue, as space-separated key=value pairs:
 *
 *   dev id= kind= owner= worker= features= backend_features= iotlb= nvqs=
 *   vq dev= idx= name= num= backend= broken= last_avail= last_used=
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

static void vhx_show_vq(struct seq_file *m, struct vhx_dev *dev, int idx)
{
	struct vhx_vq *vq = dev->vqs[idx];
	const struct vhx_vq_stats *st = &vq->stats;
	struct vhx_worker *worker = READ_ONCE(vq->worker);

	seq_printf(m, "vq dev=%u idx=%d name=%s num=%u backend=", dev->id, idx,
		   dev->ops->vq_name ? dev->ops->vq_name(idx) : "vq",
		   READ_ONCE(vq->num));
	spin_lock(&vq->name_lock);
	seq_puts(m, vq->backend_name);
	spin_unlock(&vq->name_lock);
	if (READ_ONCE(vq->private_data) && dev->ops->backend_stats) {
		struct vhx_queue_stats bst = { 0 };

		dev->ops->backend_stats(vq, &bst);
		seq_printf(m, " inflight=%llu punted=%llu bounced=%llu",
			   bst.blk_inflight, bst.blk_punted, bst.blk_bounced);
	}
	seq_printf(m, " broken=%d last_avail=%u last_used=%u",
		   READ_ONCE(vq->broken), READ_ONCE(vq->last_avail_idx),
		   READ_ONCE(vq->last_used_idx));
	if (vhx_vq_is_packed(vq))
		seq_printf(m, " layout=packed avail_wrap=%d used_wrap=%d",
			   READ_ONCE(vq->last_avail_wrap),
			   READ_ONCE(vq->last_used_wrap));
	else
		seq_puts(m, " layout=split");
	seq_printf(m, " packets=%llu bytes=%llu kicks=%llu calls=%llu runs=%llu requeues=%llu errors=%llu iotlb_misses=%llu",
		   READ_ONCE(st->packets), READ_ONCE(st->bytes),
		   READ_ONCE(st->kicks), READ_ONCE(st->calls),
		   READ_ONCE(st->runs), READ_ONCE(st->requeues),
		   READ_ONCE(st->errors), READ_ONCE(st->iotlb_misses));
	seq_printf(m, " worker=%d\n",
		   vhx_worker_pid(worker ? worker : dev->worker));
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
	const struct vhx_vq_stats *c;
	struct vhx_worker *worker;
	struct vhx_vq *vq, *vq0 = dev->vqs[0];
	u32 index;

	if (get_user(index, (u32 __user *)argp))
		return -EFAULT;
	if (index >= dev->nvqs)
		return -ENOBUFS;
	vq = dev->vqs[array_index_nospec(index, dev->nvqs)];
	memset(&st, 0, sizeof(st));
	st.index = index;
	st.nvqs = dev->nvqs;
	st.dev_id = dev->id;
	st.num = READ_ONCE(vq->num);
	strscpy(st.kind, dev->ops->kind, sizeof(st.kind));
	strscpy(st.name, dev->ops->vq_name ? dev->ops->vq_name(index) : "vq",
		sizeof(st.name));
	spin_lock(&vq->name_lock);
	strscpy(st.backend, vq->backend_name, sizeof(st.backend));
	spin_unlock(&vq->name_lock);
	st.last_avail = READ_ONCE(vq->last_avail_idx);
	st.last_used = READ_ONCE(vq->last_used_idx);
	st.features = READ_ONCE(vq0->acked_features);
	st.backend_features = READ_ONCE(vq0->acked_backend_features);
	if (READ_ONCE(vq->broken))
		st.flags |= VHX_QSTATS_F_BROKEN;
	if (vhx_vq_is_packed(vq))
		st.flags |= VHX_QSTATS_F_PACKED;
	c = &vq->stats;
	st.packets = READ_ONCE(c->packets);
	st.bytes = READ_ONCE(c->bytes);
	st.kicks = READ_ONCE(c->kicks);
	st.calls = READ_ONCE(c->calls);
	st.runs = READ_ONCE(c->runs);
	st.requeues = READ_ONCE(c->requeues);
	st.errors = READ_ONCE(c->errors);
	st.iotlb_misses = READ_ONCE(c->iotlb_misses);

	mutex_lock(&vhx_devices_lock);
	if (!list_empty(&dev->node)) {
		st.flags |= VHX_QSTATS_F_OWNED;
		st.owner_pid = dev->owner_pid;
		worker = READ_ONCE(vq->worker);
		st.worker_pid = vhx_worker_pid(worker ? worker : dev->worker);
		if (READ_ONCE(dev->iotlb))
			st.flags |= VHX_QSTATS_F_IOTLB;
		if (READ_ONCE(vq->private_data)) {
			st.flags |= VHX_QSTATS_F_BACKEND;
			if (dev->ops->backend_stats)
				dev->ops->backend_stats(vq, &st);
		}
	}
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
