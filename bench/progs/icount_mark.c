// SPDX-License-Identifier: GPL-2.0
/*
 * icount_mark FILE [start|stop] - in the lab VM under
 * bench/icount/vhx-icount.so: run the plugin's mark and print the line it
 * appended to FILE (its sequence number, then each vCPU's guest
 * instructions so far).  start and stop also start the plugin's
 * instruction profile of vCPU 0 and write it out (its prof= file).  FILE must be read
 * without a page cache (a 9p mount with cache=none), or a stale line is
 * read.  Exit 1 when no new line appears: the plugin is not loaded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int last_line(const char *path, char *buf, size_t len)
{
	char line[1024];
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	buf[0] = '\0';
	while (fgets(line, sizeof(line), f))
		snprintf(buf, len, "%s", line);
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	char before[1024], after[1024];
	const char *kind = argc == 3 ? argv[2] : "";

	if (argc < 2 || argc > 3 ||
	    (argc == 3 && strcmp(kind, "start") && strcmp(kind, "stop"))) {
		fprintf(stderr, "usage: icount_mark FILE [start|stop]\n");
		return 2;
	}
	if (last_line(argv[1], before, sizeof(before))) {
		perror(argv[1]);
		return 1;
	}
	/*
	 * nopl 0x3?584856(%rax,%rax,1): the plugin's mark, a no-op without
	 * it; the displacement spells "VHX1" (count), "VHX2" (profile start)
	 * or "VHX3" (profile stop).
	 */
	if (!strcmp(kind, "start"))
		asm volatile(".byte 0x0f, 0x1f, 0x84, 0x00, 0x56, 0x48, 0x58, 0x32" ::: "memory");
	else if (!strcmp(kind, "stop"))
		asm volatile(".byte 0x0f, 0x1f, 0x84, 0x00, 0x56, 0x48, 0x58, 0x33" ::: "memory");
	else
		asm volatile(".byte 0x0f, 0x1f, 0x84, 0x00, 0x56, 0x48, 0x58, 0x31" ::: "memory");
	if (last_line(argv[1], after, sizeof(after)) || !after[0] ||
	    !strcmp(before, after)) {
		fprintf(stderr, "icount_mark: no new line in %s (plugin not loaded?)\n", argv[1]);
		return 1;
	}
	fputs(after, stdout);
	return 0;
}
