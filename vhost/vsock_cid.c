// SPDX-License-Identifier: GPL-2.0
/*
 * The table of guest CIDs: which device serves a CID, for the host's
 * sockets (vsock_transport.c) and for sibling guests (vsock_tx.c).
 *
 * Scope.  By default a CID is unique among the devices whose sockets can
 * reach each other: on the whole host before 7.0, and since 7.0 as the
 * network namespaces' vsock modes say -- mainline's rules, so nothing
 * changes for existing users.  With netns=1, every device belongs to its
 * opener's network namespace: a CID is unique within a namespace only,
 * the host's sockets reach the guests of their own namespace, and a
 * guest's packets reach the sockets of its device's namespace (see
 * vhx_vsock_deliver()).  Two tenants in two namespaces may then both give
 * their guest CID 3.
 *
 * Guest to guest (g2g=1, off by default: tenants are isolated unless the
 * host says otherwise): a guest's packet for another CID of the same scope
 * goes to that device, inside the kernel (vsock_tx.c).
 *
 * Locking: writers hold vhx_vsock_cid_lock; readers hold rcu_read_lock(),
 * which also keeps a device they found alive: its release removes it and
 * waits for readers (vhx_vsock_cid_release()) before tearing it down.
 */

#include <linux/hashtable.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/rculist.h>
#include <net/af_vsock.h>

#include "compat_vsock.h"
#include "vsock.h"

static bool netns;
module_param(netns, bool, 0444);
MODULE_PARM_DESC(netns,
		 "Guest CIDs per network namespace of the device's opener (load time only; default: off, one space as in mainline)");

bool vhx_vsock_g2g;
module_param_named(g2g, vhx_vsock_g2g, bool, 0644);
MODULE_PARM_DESC(g2g,
		 "Carry connections between guests of this host, inside the kernel (default: off, guests isolated)");

static DEFINE_MUTEX(vhx_vsock_cid_lock);
static DEFINE_READ_MOSTLY_HASHTABLE(vhx_vsock_cids, 8);

bool vhx_vsock_netns_on(void)
{
	return netns;
}

/* May sockets of @net (or a guest whose device is in @net) reach @vs? */
bool vhx_vsock_same_scope(struct vhx_vsock *vs, struct net *net)
{
	if (netns)
		return net && net_eq(net, vs->net);
	return vhx_vsock_net_global_ok(net, vs->net);
}

/*
 * The device serving @cid for @net; caller holds rcu_read_lock() or the
 * table's lock.  @net NULL: a packet that names no namespace, a reply of
 * the host's stack to a guest's packet before 7.0 -- it is for the device
 * whose worker is delivering (vhx_vsock_deliver()); else, with one space
 * of CIDs, for the one device with that CID.
 */
struct vhx_vsock *vhx_vsock_find(u32 cid, struct net *net)
{
	struct vhx_vsock *vs, *any = NULL;

	hash_for_each_possible_rcu(vhx_vsock_cids, vs, hash, cid,
				   lockdep_is_held(&vhx_vsock_cid_lock)) {
		if (READ_ONCE(vs->guest_cid) != cid)
			continue;
		if (!net) {
			if (READ_ONCE(vs->delivering) == current)
				return vs;
			if (!netns && !any)
				any = vs;
			continue;
		}
		if (vhx_vsock_same_scope(vs, net))
			return vs;
	}
	return any;
}

/* A sibling of @from serving @cid in its scope; caller holds RCU. */
struct vhx_vsock *vhx_vsock_find_peer(struct vhx_vsock *from, u32 cid)
{
	struct vhx_vsock *vs = vhx_vsock_find(cid, from->net);

	return vs == from ? NULL : vs;
}

/* VHOST_VSOCK_SET_GUEST_CID; caller holds vs->dev.mutex. */
int vhx_vsock_set_cid(struct vhx_vsock *vs, u64 guest_cid)
{
	struct vhx_vsock *other;
	u32 cid;

	lockdep_assert_held(&vs->dev.mutex);
	/* Reserved (0-2, and U32_MAX: VMADDR_CID_ANY) and 64-bit CIDs. */
	if (guest_cid <= VMADDR_CID_HOST || guest_cid >= U32_MAX)
		return -EINVAL;
	/*
	 * A u32 from here on: the table hashes its key by the key's size,
	 * and vhx_vsock_find() looks up a u32.
	 */
	cid = guest_cid;
	/* This host's own CID as a guest (nested): keep loopback working. */
	if (vsock_find_cid(cid))
		return -EADDRINUSE;

	mutex_lock(&vhx_vsock_cid_lock);
	hash_for_each_possible(vhx_vsock_cids, other, hash, cid) {
		if (other != vs && other->guest_cid == cid &&
		    vhx_vsock_same_scope(other, vs->net)) {
			mutex_unlock(&vhx_vsock_cid_lock);
			return -EADDRINUSE;
		}
	}
	if (vs->guest_cid)
		hash_del_rcu(&vs->hash);
	WRITE_ONCE(vs->guest_cid, cid);
	hash_add_rcu(vhx_vsock_cids, &vs->hash, cid);
	mutex_unlock(&vhx_vsock_cid_lock);
	return 0;
}

/*
 * Take @vs off the table at release, and wait until no reader can still
 * hold it: after this no packet is queued for it and no sibling's.
 */
void vhx_vsock_cid_release(struct vhx_vsock *vs)
{
	mutex_lock(&vhx_vsock_cid_lock);
	if (vs->guest_cid)
		hash_del_rcu(&vs->hash);
	mutex_unlock(&vhx_vsock_cid_lock);
	synchronize_rcu();
}
