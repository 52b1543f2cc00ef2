/**
 * Drag-and-drop of files onto an element: `props` go on the drop target (it accepts only drags that
 * carry files, and shows the copy cursor), `dragging` says a file drag is over it (for styling).
 * `onDrop` gets the DataTransfer while the event runs: take its items then, they are gone after.
 */
import { type DragEvent, useState } from 'react';

export interface FileDrop {
  dragging: boolean;
  props: {
    onDragOver(e: DragEvent): void;
    onDragLeave(): void;
    onDrop(e: DragEvent): void;
  };
}

/** A file drop target; while `enabled` is false, drags are not accepted. */
export function useFileDrop(onDrop: (dt: DataTransfer) => void, enabled = true): FileDrop {
  const [dragging, setDragging] = useState(false);
  return {
    dragging,
    props: {
      onDragOver(e) {
        if (!enabled || !e.dataTransfer.types.includes('Files')) return;
        e.preventDefault();
        e.dataTransfer.dropEffect = 'copy';
        setDragging(true);
      },
      onDragLeave() {
        setDragging(false);
      },
      onDrop(e) {
        e.preventDefault();
        setDragging(false);
        if (enabled) onDrop(e.dataTransfer);
      },
    },
  };
}
