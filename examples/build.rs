//! Generates the gRPC example's code from grpc/pricing.proto, with the protoc that
//! protoc-bin-vendored carries, so that no tool has to be installed by hand.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    tonic_prost_build::configure().compile_with_config(config, &["grpc/pricing.proto"], &["grpc"])?;
    println!("cargo:rerun-if-changed=grpc/pricing.proto");
    Ok(())
}
