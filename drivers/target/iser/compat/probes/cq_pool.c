// SPDX-License-Identifier: GPL-2.0
/* The RDMA core's shared completion queue pool (upstream 5.9). */
#include <rdma/ib_verbs.h>

struct ib_cq *iser_probe(struct ib_device *dev);
struct ib_cq *iser_probe(struct ib_device *dev)
{
	struct ib_cq *cq = ib_cq_pool_get(dev, 16, -1, IB_POLL_WORKQUEUE);

	if (!IS_ERR(cq))
		ib_cq_pool_put(cq, 16);
	return cq;
}
