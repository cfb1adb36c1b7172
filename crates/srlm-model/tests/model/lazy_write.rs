//! `write_safetensors_lazily`: each tensor read when the file reaches it, the file the same as
//! the eager writer's contents, and a failed read an error that leaves no file.

use std::cell::Cell;

use srlm_model::{read_safetensors, write_safetensors_lazily, LazyTensor, WeightMap};

#[test]
fn tensors_are_read_one_at_a_time_and_read_back_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.safetensors");
    let reads = Cell::new(0);
    let values = |n: usize, k: f32| (0..n).map(|i| i as f32 * k).collect::<Vec<f32>>();
    let tensors: Vec<LazyTensor> = [("m.0", vec![2, 3], 0.5f32), ("v.0", vec![4], -1.0)]
        .into_iter()
        .map(|(name, shape, k)| {
            let n = shape.iter().product();
            let reads = &reads;
            LazyTensor {
                name: name.into(),
                shape,
                read: Box::new(move || {
                    reads.set(reads.get() + 1);
                    Ok(values(n, k))
                }),
            }
        })
        .collect();
    write_safetensors_lazily(&path, &tensors).unwrap();
    assert_eq!(reads.get(), 2, "each tensor read once, when written");
    let mut map = WeightMap::new("state");
    read_safetensors(&path, &mut map).unwrap();
    assert_eq!(map.tensors["m.0"].shape, vec![2, 3]);
    assert_eq!(map.tensors["m.0"].data, values(6, 0.5));
    assert_eq!(map.tensors["v.0"].data, values(4, -1.0));
}

#[test]
fn a_short_read_is_an_error_naming_the_tensor_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.safetensors");
    let tensors = [LazyTensor {
        name: "m.7".into(),
        shape: vec![3],
        read: Box::new(|| Ok(vec![1.0])),
    }];
    let err = write_safetensors_lazily(&path, &tensors)
        .unwrap_err()
        .to_string();
    assert!(err.contains("m.7") && err.contains("1 values"), "{err}");
    assert!(!path.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no temporary left"
    );
}
