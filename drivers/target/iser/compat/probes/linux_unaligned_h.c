// SPDX-License-Identifier: GPL-2.0
/* <linux/unaligned.h> (6.12 moved it there from <asm/unaligned.h>). */
#include <linux/unaligned.h>

u32 iser_probe(const void *p);
u32 iser_probe(const void *p)
{
	return get_unaligned_be32(p);
}
