// SPDX-License-Identifier: GPL-2.0
/*
 * vhx_failalloc - test only: make vhx_blk's kmemdup() calls fail.
 *
 * Debian's kernels carry no fault injection (CONFIG_FAULT_INJECTION and
 * CONFIG_FUNCTION_ERROR_INJECTION are off), so a selftest cannot ask for a
 * failed allocation.  This module puts a kretprobe on kmemdup()
 * (kmemdup_noprof() where allocation profiling renamed it) and, while
 * "fail" is above zero, turns the result of a call made from vhx_blk's
 * code into NULL, freeing what was allocated: what the caller sees is a
 * failed allocation.  Calls from anywhere else are left alone.
 *
 *   /sys/module/vhx_failalloc/parameters/fail     calls still to fail
 *   /sys/module/vhx_failalloc/parameters/failed   calls failed so far
 *
 * Loaded by blk_test only; `make install` and DKMS never ship it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/kallsyms.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/ptrace.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>

static atomic_t vhx_fa_fail = ATOMIC_INIT(0);
static atomic_t vhx_fa_failed = ATOMIC_INIT(0);

static int vhx_fa_set(const char *val, const struct kernel_param *kp)
{
	int n, r = kstrtoint(val, 0, &n);

	if (r)
		return r;
	if (n < 0)
		return -EINVAL;
	atomic_set(kp->arg, n);
	return 0;
}

static int vhx_fa_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", atomic_read(kp->arg));
}

static const struct kernel_param_ops vhx_fa_ops = {
	.set = vhx_fa_set,
	.get = vhx_fa_get,
};

module_param_cb(fail, &vhx_fa_ops, &vhx_fa_fail, 0600);
MODULE_PARM_DESC(fail, "vhx_blk kmemdup() calls still to fail");
module_param_cb(failed, &vhx_fa_ops, &vhx_fa_failed, 0400);
MODULE_PARM_DESC(failed, "vhx_blk kmemdup() calls failed so far");

/* Is @addr in vhx_blk's code?  The symbolic name says "[vhx_blk]". */
static bool vhx_fa_from_blk(unsigned long addr)
{
	char sym[KSYM_SYMBOL_LEN];

	sprint_symbol(sym, addr);
	return strstr(sym, " [vhx_blk]");
}

static int vhx_fa_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	void *p = (void *)regs_return_value(regs);

	if (!p || atomic_read(&vhx_fa_fail) <= 0 ||
	    !vhx_fa_from_blk(get_kretprobe_retaddr(ri)))
		return 0;
	if (atomic_dec_if_positive(&vhx_fa_fail) < 0)
		return 0;
	kfree(p);
	regs_set_return_value(regs, 0);
	atomic_inc(&vhx_fa_failed);
	return 0;
}

static struct kretprobe vhx_fa_probe = {
	.handler = vhx_fa_ret,
	.maxactive = 64,
};

static int __init vhx_fa_init(void)
{
	static const char * const names[] = { "kmemdup_noprof", "kmemdup" };
	int i, r = -ENOENT;

	for (i = 0; i < ARRAY_SIZE(names) && r; i++) {
		vhx_fa_probe.kp.symbol_name = names[i];
		vhx_fa_probe.kp.addr = NULL;
		r = register_kretprobe(&vhx_fa_probe);
	}
	if (r)
		pr_err("cannot probe kmemdup: %d\n", r);
	else
		pr_info("probing %s\n", vhx_fa_probe.kp.symbol_name);
	return r;
}

static void __exit vhx_fa_exit(void)
{
	unregister_kretprobe(&vhx_fa_probe);
}

module_init(vhx_fa_init);
module_exit(vhx_fa_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vhx selftests: fail vhx_blk's kmemdup() calls");
