/* SPDX-License-Identifier: GPL-2.0 */
/*
 * iser_target: differences between the kernels it builds for. Decided by
 * the compile-time probes in compat/probes/ (results in the generated
 * iser_compat_auto.h), never by kernel version numbers: a new kernel that
 * moves an API needs a probe here, not a hunt through the sources.
 */
#ifndef ISER_COMPAT_H
#define ISER_COMPAT_H

#include "iser_compat_auto.h"

#ifdef ISER_HAVE_LINUX_UNALIGNED_H
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

#ifndef ISER_HAVE_CONN_CMD_COUNTER
/* struct iscsit_conn.cmd_cnt: Linux 6.4, or a backport as in Debian's 6.1 */
#error "iser_target needs LIO's per-connection command counter"
#endif

#ifndef ISER_HAVE_CQ_POOL
#error "iser_target needs the RDMA core's CQ pool (ib_cq_pool_get(), Linux 5.9)"
#endif

#endif /* ISER_COMPAT_H */
