/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The few kernel names the pure protocol code uses, for building it in
 * user space for the host unit tests.
 */
#ifndef ISER_USERSPACE_H
#define ISER_USERSPACE_H

#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <linux/types.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int32_t s32;

#define __packed	__attribute__((packed))

#define be32_to_cpu(x)	be32toh(x)
#define be64_to_cpu(x)	be64toh(x)

static inline u16 get_unaligned_be16(const void *p)
{
	const u8 *b = p;

	return (u16)(b[0] << 8 | b[1]);
}

static inline u32 get_unaligned_be32(const void *p)
{
	const u8 *b = p;

	return (u32)b[0] << 24 | (u32)b[1] << 16 | (u32)b[2] << 8 | b[3];
}

#endif /* ISER_USERSPACE_H */
