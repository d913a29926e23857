package io.shmsync;

/**
 * A snapshot of one directory entry of a region.
 *
 * @param name       the object's name
 * @param type       the object's type, or null for a name only {@linkplain #reserved() reserved}
 * @param offset     offset of the object from the start of the region (0 for a reserved name)
 * @param size       size of the object in bytes (0 for a reserved name)
 * @param generation the entry's generation: it changes whenever the entry does
 */
public record RegionEntry(String name, ObjectType type, long offset, long size, int generation) {
    /** @return true if the name is reserved (by {@link Region#reserveUnusedName(String)}) but has no object */
    public boolean reserved() {
        return type == null;
    }
}
